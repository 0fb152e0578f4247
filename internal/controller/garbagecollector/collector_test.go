package garbagecollector

import (
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const ns = "default"

const jobTracking = "batch.kubernetes.io/job-tracking"

func TestBackgroundDeletesDependentsOfAGoneOwner(t *testing.T) {
	f := newFakeAPI(t)
	job := f.create(jobsGVR, ns, "j", nil)
	f.create(podsGVR, ns, "j-a", nil, ref(job, true))
	f.create(podsGVR, ns, "j-b", nil, ref(job, false))
	unrelated := f.create(podsGVR, ns, "other", nil)
	_ = unrelated
	f.start()

	f.delete(jobsGVR, ns, "j", metav1.DeletePropagationBackground)
	f.eventually("the job's pods are gone", func() bool {
		return !f.exists(podsGVR, ns, "j-a") && !f.exists(podsGVR, ns, "j-b")
	})
	if !f.exists(podsGVR, ns, "other") {
		t.Error("an unowned pod was deleted")
	}
	for _, d := range f.deleteRequests() {
		if strings.HasPrefix(d, "pods/") && !strings.HasSuffix(d, ":Background") {
			t.Errorf("dependent deleted with %s, want Background", d)
		}
	}
}

func TestForegroundWaitsForBlockingDependents(t *testing.T) {
	f := newFakeAPI(t)
	job := f.create(jobsGVR, ns, "j", nil)
	// The Job controller's tracking finalizer keeps a deleted pod around until it is
	// removed: the Job must wait for that pod, but not for a non-blocking one.
	withTracking := func(o *metav1.PartialObjectMetadata) { o.Finalizers = []string{jobTracking} }
	f.create(podsGVR, ns, "j-blocking", withTracking, ref(job, true))
	f.create(podsGVR, ns, "j-plain", nil, ref(job, true))
	f.create(podsGVR, ns, "j-nonblocking", withTracking, ref(job, false))
	f.start()

	f.delete(jobsGVR, ns, "j", metav1.DeletePropagationForeground)
	j, _ := f.get(jobsGVR, ns, "j")
	if j.DeletionTimestamp == nil || !slices.Contains(j.Finalizers, metav1.FinalizerDeleteDependents) {
		t.Fatalf("foreground delete did not leave the job waiting: %+v", j.ObjectMeta)
	}
	f.eventually("every dependent is being deleted", func() bool {
		b, _ := f.get(podsGVR, ns, "j-blocking")
		nb, _ := f.get(podsGVR, ns, "j-nonblocking")
		return !f.exists(podsGVR, ns, "j-plain") && b != nil && b.DeletionTimestamp != nil && nb != nil && nb.DeletionTimestamp != nil
	})
	f.never("the job is removed while a blocking pod remains", func() bool { return !f.exists(jobsGVR, ns, "j") })

	f.removeFinalizer(podsGVR, ns, "j-blocking", jobTracking)
	f.eventually("the job is removed", func() bool { return !f.exists(jobsGVR, ns, "j") })
	if !f.exists(podsGVR, ns, "j-nonblocking") {
		t.Error("the non-blocking pod was removed although its finalizer is still there")
	}
}

// CronJob → Job → Pod, all blocking: a foreground delete of the CronJob deletes the Job
// in the foreground too, and everything goes bottom-up.
func TestForegroundIsRecursive(t *testing.T) {
	f := newFakeAPI(t)
	cj := f.create(cronJobsGVR, ns, "c", nil)
	job := f.create(jobsGVR, ns, "c-1", nil, ref(cj, true))
	f.create(podsGVR, ns, "c-1-a", func(o *metav1.PartialObjectMetadata) { o.Finalizers = []string{jobTracking} }, ref(job, true))
	f.start()

	f.delete(cronJobsGVR, ns, "c", metav1.DeletePropagationForeground)
	f.eventually("the job is deleted in the foreground", func() bool {
		j, ok := f.get(jobsGVR, ns, "c-1")
		return ok && slices.Contains(j.Finalizers, metav1.FinalizerDeleteDependents)
	})
	f.eventually("the pod is being deleted", func() bool {
		p, ok := f.get(podsGVR, ns, "c-1-a")
		return ok && p.DeletionTimestamp != nil
	})
	f.never("the cronjob goes before its job", func() bool { return !f.exists(cronJobsGVR, ns, "c") })

	f.removeFinalizer(podsGVR, ns, "c-1-a", jobTracking)
	f.eventually("everything is gone", func() bool {
		return !f.exists(cronJobsGVR, ns, "c") && !f.exists(jobsGVR, ns, "c-1") && !f.exists(podsGVR, ns, "c-1-a")
	})
	if d := f.deleteRequests(); !slices.Contains(d, "jobs/c-1:Foreground") {
		t.Errorf("the job was not deleted in the foreground: %v", d)
	}
}

func TestOrphanRemovesTheOwnerReference(t *testing.T) {
	f := newFakeAPI(t)
	job := f.create(jobsGVR, ns, "j", nil)
	other := f.create(jobsGVR, ns, "other", nil)
	f.create(podsGVR, ns, "j-a", nil, ref(job, true))
	f.create(podsGVR, ns, "j-b", nil, ref(job, true), ref(other, false))
	f.start()

	f.delete(jobsGVR, ns, "j", metav1.DeletePropagationOrphan)
	f.eventually("the job is removed", func() bool { return !f.exists(jobsGVR, ns, "j") })
	a, okA := f.get(podsGVR, ns, "j-a")
	b, okB := f.get(podsGVR, ns, "j-b")
	if !okA || !okB {
		t.Fatal("orphaned pods were deleted")
	}
	if len(a.OwnerReferences) != 0 {
		t.Errorf("j-a owner references = %+v, want none", a.OwnerReferences)
	}
	if len(b.OwnerReferences) != 1 || b.OwnerReferences[0].UID != other.UID {
		t.Errorf("j-b owner references = %+v, want only the other job", b.OwnerReferences)
	}
	f.never("an orphan is collected afterwards", func() bool { return !f.exists(podsGVR, ns, "j-a") })
}

func TestDanglingReferences(t *testing.T) {
	f := newFakeAPI(t)
	// An owner that never existed, and one whose name exists with another UID.
	ghost := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"}, ObjectMeta: metav1.ObjectMeta{Name: "ghost", UID: "never-existed"}}
	f.create(podsGVR, ns, "ghost-pod", nil, ref(ghost, false))
	f.create(jobsGVR, ns, "reborn", nil)
	oldReborn := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"}, ObjectMeta: metav1.ObjectMeta{Name: "reborn", UID: "old-uid"}}
	f.create(podsGVR, ns, "reborn-pod", nil, ref(oldReborn, true))
	// An owner of a kind nobody serves: never judged, never deleted.
	unknown := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "example.com/v1", Kind: "Widget"}, ObjectMeta: metav1.ObjectMeta{Name: "w", UID: "widget-uid"}}
	f.create(podsGVR, ns, "widget-pod", nil, ref(unknown, false))
	f.start()

	f.eventually("pods with dangling owners are collected", func() bool {
		return !f.exists(podsGVR, ns, "ghost-pod") && !f.exists(podsGVR, ns, "reborn-pod")
	})
	if !f.exists(jobsGVR, ns, "reborn") {
		t.Error("the job with the reused name was deleted")
	}
	if !f.exists(podsGVR, ns, "widget-pod") {
		t.Error("a pod owned by an unknown kind was deleted")
	}
}

func TestClusterScopedOwner(t *testing.T) {
	f := newFakeAPI(t)
	node := f.create(nodesGVR, "", "n1", nil)
	f.create(podsGVR, ns, "mirror", nil, ref(node, false))
	f.start()
	f.never("a pod owned by an existing node is collected", func() bool { return !f.exists(podsGVR, ns, "mirror") })
	f.delete(nodesGVR, "", "n1", metav1.DeletePropagationBackground)
	f.eventually("the pod of the deleted node is collected", func() bool { return !f.exists(podsGVR, ns, "mirror") })
}

func TestDependentWithAnotherOwnerIsKept(t *testing.T) {
	f := newFakeAPI(t)
	j1 := f.create(jobsGVR, ns, "j1", nil)
	j2 := f.create(jobsGVR, ns, "j2", nil)
	f.create(podsGVR, ns, "shared", nil, ref(j1, true), ref(j2, false))
	f.start()

	f.delete(jobsGVR, ns, "j1", metav1.DeletePropagationBackground)
	f.eventually("the reference to the gone owner is dropped", func() bool {
		p, ok := f.get(podsGVR, ns, "shared")
		return ok && len(p.OwnerReferences) == 1 && p.OwnerReferences[0].UID == j2.UID
	})
	f.delete(jobsGVR, ns, "j2", metav1.DeletePropagationBackground)
	f.eventually("the pod goes with its last owner", func() bool { return !f.exists(podsGVR, ns, "shared") })
}

// After a restart, finalizers left by deletions the collector never finished are
// processed from the informers' initial lists.
func TestPendingFinalizersAfterRestart(t *testing.T) {
	f := newFakeAPI(t)
	deleting := func(finalizer string) func(*metav1.PartialObjectMetadata) {
		return func(o *metav1.PartialObjectMetadata) {
			o.Finalizers = []string{finalizer}
			o.DeletionTimestamp = &metav1.Time{Time: time.Now()}
		}
	}
	// Foreground deletion whose dependents are already gone.
	f.create(jobsGVR, ns, "fg-done", deleting(metav1.FinalizerDeleteDependents))
	// Foreground deletion with a dependent still there.
	fg := f.create(jobsGVR, ns, "fg", deleting(metav1.FinalizerDeleteDependents))
	f.create(podsGVR, ns, "fg-a", nil, ref(fg, true))
	// Orphan deletion half done.
	or := f.create(jobsGVR, ns, "or", deleting(metav1.FinalizerOrphanDependents))
	f.create(podsGVR, ns, "or-a", nil, ref(or, true))
	// A dependent whose owner went away while the collector was down.
	gone := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"}, ObjectMeta: metav1.ObjectMeta{Name: "gone", UID: "gone-uid"}}
	f.create(podsGVR, ns, "gone-a", nil, ref(gone, true))

	c := f.start()
	f.eventually("everything pending is finished", func() bool {
		p, ok := f.get(podsGVR, ns, "or-a")
		return !f.exists(jobsGVR, ns, "fg-done") && !f.exists(jobsGVR, ns, "fg") && !f.exists(podsGVR, ns, "fg-a") &&
			!f.exists(jobsGVR, ns, "or") && ok && len(p.OwnerReferences) == 0 &&
			!f.exists(podsGVR, ns, "gone-a")
	})
	f.eventually("the graph holds only what exists", func() bool { return c.graph.len() == 1 })
}

// A foreground deletion pending at start-up still waits for a blocking dependent that
// cannot go yet, whatever order the informers list things in.
func TestPendingForegroundWaitsAfterRestart(t *testing.T) {
	f := newFakeAPI(t)
	job := f.create(jobsGVR, ns, "fg", func(o *metav1.PartialObjectMetadata) {
		o.Finalizers = []string{metav1.FinalizerDeleteDependents}
		o.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	})
	f.create(podsGVR, ns, "fg-a", func(o *metav1.PartialObjectMetadata) { o.Finalizers = []string{jobTracking} }, ref(job, true))
	f.start()

	f.eventually("the pod is being deleted", func() bool {
		p, ok := f.get(podsGVR, ns, "fg-a")
		return ok && p.DeletionTimestamp != nil
	})
	f.never("the job goes before its pod", func() bool { return !f.exists(jobsGVR, ns, "fg") })
	f.removeFinalizer(podsGVR, ns, "fg-a", jobTracking)
	f.eventually("the job is removed", func() bool { return !f.exists(jobsGVR, ns, "fg") })
}

// TestEventsAreNotWatched checks that events, which Kubernetes' collector ignores, are
// neither listed nor watched nor collected, even with an owner that is gone.
func TestEventsAreNotWatched(t *testing.T) {
	f := newFakeAPI(t)
	ghost := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"}, ObjectMeta: metav1.ObjectMeta{Name: "ghost", UID: "never-existed"}}
	f.create(eventsGVR, ns, "ghost.1", nil, ref(ghost, false))
	f.create(podsGVR, ns, "ghost-pod", nil, ref(ghost, false))
	f.start()

	f.eventually("the pod with a dangling owner is collected", func() bool { return !f.exists(podsGVR, ns, "ghost-pod") })
	f.never("the event with a dangling owner is collected", func() bool { return !f.exists(eventsGVR, ns, "ghost.1") })
	for _, a := range f.client.Actions() {
		if a.GetResource() == eventsGVR {
			t.Errorf("the collector sent %s for events", a.GetVerb())
		}
	}
}
