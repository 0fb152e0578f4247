package job

import (
	"fmt"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// BenchmarkSyncIndexedJob2000 runs an Indexed Job of 2000 completions with
// parallelism 2000 through the controller on fakes: the syncs that create
// every pod, then, once all succeeded, the syncs that record them, remove
// their finalizers and complete the Job. It reports controller+fake time
// per pod.
func BenchmarkSyncIndexedJob2000(b *testing.B) {
	const n = 2000
	gvr := corev1.SchemeGroupVersion.WithResource("pods")
	var syncs int
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		f := newFixture(b)
		job := newJob("big", n, n, indexedJob)
		f.add(job)
		b.StartTimer()
		for len(f.pods.List()) < n {
			if err := f.sync(job); err != nil {
				b.Fatal(err)
			}
			syncs++
			f.observeCreates()
			f.refresh()
		}
		b.StopTimer()
		for _, o := range f.pods.List() {
			p := o.(*corev1.Pod).DeepCopy()
			p.Status.Phase = corev1.PodSucceeded
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "worker", State: corev1.ContainerState{
				Terminated: &corev1.ContainerStateTerminated{FinishedAt: metav1.NewTime(testNow.Add(time.Minute))}}}}
			if err := f.client.Tracker().Update(gvr, p, p.Namespace); err != nil {
				b.Fatal(err)
			}
		}
		f.refresh()
		b.StartTimer()
		for !isFinished(f.job(job)) {
			if err := f.sync(job); err != nil {
				b.Fatal(err)
			}
			syncs++
			f.refresh()
		}
		b.StopTimer()
		if st := f.job(job).Status; st.Succeeded != n || st.CompletedIndexes != "0-1999" {
			b.Fatalf("status %+v", st)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/pod")
	b.ReportMetric(float64(syncs)/float64(b.N), "syncs/op")
	_ = batchv1.JobComplete
}

// BenchmarkSyncLargeIndexedJob is one sync of an Indexed Job of 6000 completions in
// its steady state: 5968 pods succeeded and counted (their finalizers gone), 32
// running. Such a Job is synced after every batch of pod changes, so what a sync costs
// per pod it already counted decides how the controller scales with the Job's size.
func BenchmarkSyncLargeIndexedJob(b *testing.B) {
	const n, running = 6000, 32
	f := newFixture(b)
	job := newJob("big", running, n, indexedJob, started(testNow), withStatus(func(st *batchv1.JobStatus) {
		st.CompletedIndexes = fmt.Sprintf("0-%d", n-running-1)
		st.Succeeded = n - running
		st.Active = running
		st.Ready = ptr.To[int32](0)
		st.Terminating = ptr.To[int32](0)
	}))
	f.add(job)
	for i := range n {
		phase, opts := corev1.PodSucceeded, []podOpt{index(i), noFinalizer}
		if i >= n-running {
			phase, opts = corev1.PodRunning, []podOpt{index(i)}
		}
		f.add(newPod(job, fmt.Sprintf("big-%d", i), phase, opts...))
	}
	if err := f.sync(job); err != nil {
		b.Fatal(err)
	}
	f.refresh()
	f.reset()
	b.ReportAllocs()
	for b.Loop() {
		if err := f.sync(job); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if w := f.statusWrites(); len(w) > 0 {
		b.Fatalf("a steady-state sync wrote the status %d times", len(w))
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/pod")
}
