package job

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
)

func TestPodHandlersObserveExpectations(t *testing.T) {
	f := newFixture(t)
	job := newJob("j", 1, 1)
	f.add(job)
	key := jobKey(job)
	pod := newPod(job, "p", corev1.PodRunning)
	f.cache(pod)

	f.ctrl.expectations.ExpectDeletions(key, 1)
	gone := pod.DeepCopy()
	gone.ResourceVersion = "2"
	deleting(gone)
	f.ctrl.updatePod(pod, gone)
	if !f.ctrl.expectations.Satisfied(key) {
		t.Fatal("a graceful delete must count as the observed deletion")
	}

	f.ctrl.finalizerExpectations.Expect(key, string(pod.UID))
	released := pod.DeepCopy()
	released.ResourceVersion = "3"
	released.Finalizers = nil
	f.ctrl.updatePod(pod, released)
	if f.ctrl.finalizerExpectations.Pending(key).Has(string(pod.UID)) {
		t.Fatal("finalizer removal not observed")
	}

	f.ctrl.finalizerExpectations.Expect(key, string(pod.UID))
	f.ctrl.deletePod(pod, true)
	if f.ctrl.finalizerExpectations.Pending(key).Len() != 0 {
		t.Fatal("a pod that is gone must clear its finalizer expectation")
	}
	f.clock.Step(time.Second) // the batching delay
	waitFor(t, func() bool { return f.ctrl.queue.Len() == 1 })
}

func TestPodOfUnknownJobGoesToTheOrphanQueue(t *testing.T) {
	f := newFixture(t)
	job := newJob("j", 1, 1) // not in the cache
	f.ctrl.addPod(newPod(job, "p", corev1.PodSucceeded))
	if f.ctrl.orphanQueue.Len() != 1 {
		t.Fatalf("orphan queue length %d", f.ctrl.orphanQueue.Len())
	}
}

func TestManagedByOtherControllerIsNotQueued(t *testing.T) {
	f := newFixture(t)
	job := newJob("j", 1, 1, func(j *batchv1.Job) { j.Spec.ManagedBy = ptr.To("kueue.x-k8s.io/multikueue") })
	f.ctrl.addJob(job)
	f.add(job)
	f.ctrl.addPod(newPod(job, "p", corev1.PodRunning))
	if f.ctrl.queue.Len() != 0 {
		t.Fatal("queued a Job managed elsewhere")
	}
}

func TestJobUpdateRequeuesForANewDeadline(t *testing.T) {
	f := newFixture(t)
	old := newJob("j", 1, 1, started(testNow))
	cur := old.DeepCopy()
	cur.Generation = 2
	cur.Spec.ActiveDeadlineSeconds = ptr.To[int64](30)
	f.ctrl.updateJob(old, cur)
	waitFor(t, func() bool { return f.ctrl.queue.Len() == 1 }) // the spec change
	k, _ := f.ctrl.queue.Get()
	f.ctrl.queue.Done(k)
	f.clock.Step(30 * time.Second)
	waitFor(t, func() bool { return f.ctrl.queue.Len() == 1 }) // the deadline
}

func TestFailedDeleteIsReported(t *testing.T) {
	f := newFixture(t)
	job := newJob("j", 0, 1)
	f.add(job, newPod(job, "r", corev1.PodRunning))
	f.client.PrependReactor("delete", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("nope")
	})
	if err := f.sync(job); err == nil {
		t.Fatal("want the delete error")
	}
	ev := countReasons(f.events())
	if ev["FailedDelete"] != 1 {
		t.Fatalf("events %v", ev)
	}
	if !f.ctrl.expectations.Satisfied(jobKey(job)) {
		t.Fatal("a failed delete must lower the expectations")
	}
}

func TestAtMost500PodsAreRecordedPerSync(t *testing.T) {
	f := newFixture(t)
	job := newJob("j", 1, 700)
	f.add(job)
	for i := range 600 {
		f.add(newPod(job, fmt.Sprintf("s%03d", i), corev1.PodSucceeded))
	}
	if err := f.sync(job); err != nil {
		t.Fatal(err)
	}
	if n := len(f.finalizerRemovals()); n != 500 {
		t.Fatalf("released %d pods in one sync, want 500", n)
	}
	if st := f.job(job).Status; st.Succeeded != 500 {
		t.Fatalf("succeeded %d after the first sync", st.Succeeded)
	}
	f.refresh()
	f.ctrl.finalizerExpectations.Delete(jobKey(job)) // the informer saw the removals
	if err := f.sync(job); err != nil {
		t.Fatal(err)
	}
	if st := f.job(job).Status; st.Succeeded != 600 {
		t.Fatalf("succeeded %d after the second sync", st.Succeeded)
	}
}

func TestPerIndexRetryLifecycle(t *testing.T) {
	f := newFixture(t)
	job := newJob("j", 1, 1, perIndex(1, nil))
	f.add(job)
	if err := f.sync(job); err != nil {
		t.Fatal(err)
	}
	f.observeCreates()
	first := f.createdPodsFromAPI(job)[0]
	failPod(f, first.Name, testNow)
	f.reset()
	f.clock.Step(11 * time.Second)
	if err := f.sync(job); err != nil {
		t.Fatal(err)
	}
	created := f.createdPods()
	if len(created) != 1 || created[0].Annotations[batchv1.JobIndexFailureCountAnnotation] != "1" {
		t.Fatalf("replacement %v", created)
	}
	var replacement string
	for _, p := range f.createdPodsFromAPI(job) {
		if p.Name != first.Name {
			replacement = p.Name
		}
	}
	if n := len(f.finalizerRemovals()); n != 0 {
		t.Fatal("released the failed pod before its replacement existed")
	}
	f.observeCreates()
	f.reset()
	if err := f.sync(job); err != nil {
		t.Fatal(err)
	}
	if got := f.finalizerRemovals(); len(got) != 1 || got[0] != first.Name {
		t.Fatalf("released %v, want the first pod once its replacement runs", got)
	}
	if st := f.job(job).Status; st.Failed != 1 || ptr.Deref(st.FailedIndexes, "?") != "" {
		t.Fatalf("status %+v", st)
	}
	// The replacement fails as well: index 0 is out of retries.
	f.refresh()
	f.ctrl.finalizerExpectations.Delete(jobKey(job))
	failPod(f, replacement, f.clock.Now())
	f.reset()
	if err := f.sync(job); err != nil {
		t.Fatal(err)
	}
	st := f.job(job).Status
	if ptr.Deref(st.FailedIndexes, "?") != "0" || st.Failed != 2 || condSummary(st.Conditions) != "FailureTarget=True/FailedIndexes,Failed=True/FailedIndexes" {
		t.Fatalf("status %+v", st)
	}
}

// failPod marks a pod Failed (exit 1 at t) in the API and the cache.
func failPod(f *fixture, name string, at time.Time) {
	f.t.Helper()
	p, err := f.client.CoreV1().Pods("ns").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	p.Status.Phase = corev1.PodFailed
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "worker", State: corev1.ContainerState{
		Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: metav1.NewTime(at)}}}}
	f.updatePod(p)
}
