package job

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
