package job

import (
	"context"
	"fmt"
	"sort"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/util/workqueue"
)

// Finalizer-based tracking. A finished pod that still carries
// batch.kubernetes.io/job-tracking is new: the sync
//  1. records it in status.uncountedTerminatedPods (Indexed successes in
//     completedIndexes) and writes the status,
//  2. removes the finalizer,
//  3. moves the UIDs whose finalizer is gone from the uncounted lists into
//     succeeded/failed and writes the status again.
// The finalizer and the uncounted lists together are the ledger: a crash
// between any two steps neither loses nor double counts a pod.

// trackStatus records finished pods, removes their finalizers, declares the
// Job finished when it may, and writes the status. orig is the status the Job
// had in the cache.
func (c *Controller) trackStatus(ctx context.Context, sc *syncContext, orig batchv1.JobStatus) error {
	job := sc.job
	indexed := isIndexed(job)
	// Only pods that still carry the tracking finalizer (and are not about to lose it)
	// have anything left to record: in a large Job, the few running or just finished,
	// not the thousands already counted. They are visited in index order.
	var tracked []*corev1.Pod
	withFinalizer := sets.New[string]()
	for _, p := range sc.pods {
		if hasTrackingFinalizer(p) && !sc.expectedRmFinalizers.Has(string(p.UID)) {
			withFinalizer.Insert(string(p.UID))
			tracked = append(tracked, p)
		}
	}
	if indexed {
		sortByCompletionIndex(tracked)
	}
	countUncountedWithoutFinalizer(&job.Status, withFinalizer)

	uncounted := job.Status.UncountedTerminatedPods
	var toRelease []*corev1.Pod
	var newIndexes []int
	reachedMax := false
	failing := sc.finishedCondition != nil && sc.finishedCondition.Type != batchv1.JobSuccessCriteriaMet && sc.finishedCondition.Type != batchv1.JobComplete
	for _, p := range tracked {
		uid := string(p.UID)
		failed := isPodFailed(p, job)
		if !c.canRemoveFinalizer(sc, p, failed) {
			continue
		}
		toRelease = append(toRelease, p)
		switch {
		case p.Status.Phase == corev1.PodSucceeded && !sc.uncountedFailed.Has(uid):
			if indexed {
				if ix := completionIndex(p); validIndex(job, p) && !sc.prevSucceededIndexes.has(ix) {
					newIndexes = append(newIndexes, ix)
				}
			} else if !sc.uncountedSucceeded.Has(uid) {
				uncounted.Succeeded = append(uncounted.Succeeded, p.UID)
			}
		case failed || failing:
			// A finishing Job's remaining pods count as failed.
			if !sc.uncountedFailed.Has(uid) && (!indexed || validIndex(job, p)) &&
				matchPodFailurePolicy(job.Spec.PodFailurePolicy, p).countFailed {
				uncounted.Failed = append(uncounted.Failed, p.UID)
			}
		}
		if len(newIndexes)+len(uncounted.Succeeded)+len(uncounted.Failed) >= maxUncountedPods {
			// The rest waits for the next sync, which the writes trigger.
			reachedMax = true
			break
		}
	}
	if indexed {
		sort.Ints(newIndexes)
		sc.succeededIndexes = sc.succeededIndexes.with(newIndexes)
		job.Status.CompletedIndexes = sc.succeededIndexes.String()
		job.Status.Succeeded = int32(sc.succeededIndexes.total())
		if hasBackoffLimitPerIndex(job) {
			s := sc.failedIndexes.String()
			job.Status.FailedIndexes = &s
		}
	}
	interimAdded := false
	if fc := sc.finishedCondition; fc != nil {
		switch fc.Type {
		case batchv1.JobFailureTarget:
			job.Status.Conditions = append(job.Status.Conditions, *fc)
			interimAdded = true
			sc.finishedCondition = terminalFor(fc, c.clock.Now())
		case batchv1.JobSuccessCriteriaMet:
			if hasTrueCondition(job, batchv1.JobSuccessCriteriaMet) == nil {
				job.Status.Conditions = append(job.Status.Conditions, *fc)
				interimAdded = true
			}
			sc.finishedCondition = terminalFor(fc, c.clock.Now())
		}
	}

	written := orig
	// Step 1: record before the finalizers go.
	if (len(toRelease) > 0 || interimAdded) && !equality.Semantic.DeepEqual(job.Status, written) {
		if err := c.writeStatus(ctx, job); err != nil {
			return fmt.Errorf("adding uncounted pods to status: %w", err)
		}
		written = *job.Status.DeepCopy()
	}
	if len(toRelease) > 0 {
		c.backoffs.put(sc.key, sc.backoff)
	}
	// Step 2: remove the finalizers.
	released, rmErr := c.removeFinalizers(ctx, sc.key, toRelease)
	for _, uid := range released {
		withFinalizer.Delete(uid)
	}
	// Step 3: count what is now off the ledger.
	countUncountedWithoutFinalizer(&job.Status, withFinalizer)
	finished := !reachedMax && c.enactFinished(sc)
	if !equality.Semantic.DeepEqual(job.Status, written) {
		if err := c.writeStatus(ctx, job); err != nil {
			return fmt.Errorf("removing uncounted pods from status: %w", err)
		}
		if finished {
			c.recordFinished(job, sc.finishedCondition)
		}
	}
	return rmErr
}

// canRemoveFinalizer: finished pods may be released, except (with
// backoffLimitPerIndex) an index's last failed pod until its replacement
// exists. A deleted or finishing Job releases every pod.
func (c *Controller) canRemoveFinalizer(sc *syncContext, pod *corev1.Pod, failed bool) bool {
	if sc.job.DeletionTimestamp != nil || sc.finishedCondition != nil || pod.Status.Phase == corev1.PodSucceeded {
		return true
	}
	if !failed {
		return false
	}
	if hasBackoffLimitPerIndex(sc.job) {
		if last, ok := sc.lastFailedPerIndex[completionIndex(pod)]; ok && last.UID == pod.UID {
			return false
		}
	}
	return true
}

// countUncountedWithoutFinalizer moves UIDs whose pods no longer carry the
// finalizer (or are gone) from the uncounted lists to the counters.
func countUncountedWithoutFinalizer(st *batchv1.JobStatus, withFinalizer sets.Set[string]) {
	u := st.UncountedTerminatedPods
	keep := func(uids []types.UID) []types.UID {
		var out []types.UID
		for _, uid := range uids {
			if withFinalizer.Has(string(uid)) {
				out = append(out, uid)
			}
		}
		return out
	}
	if s := keep(u.Succeeded); len(s) != len(u.Succeeded) {
		st.Succeeded += int32(len(u.Succeeded) - len(s))
		u.Succeeded = s
	}
	if f := keep(u.Failed); len(f) != len(u.Failed) {
		st.Failed += int32(len(u.Failed) - len(f))
		u.Failed = f
	}
}

// enactFinished appends the terminal condition once nothing is uncounted and
// no pod is terminating.
func (c *Controller) enactFinished(sc *syncContext) bool {
	fc := sc.finishedCondition
	if fc == nil {
		return false
	}
	st := &sc.job.Status
	if u := st.UncountedTerminatedPods; u != nil && len(u.Succeeded)+len(u.Failed) > 0 {
		return false
	}
	if st.Terminating != nil && *st.Terminating > 0 {
		return false
	}
	st.Conditions, _ = ensureCondition(st.Conditions, fc.Type, fc.Status, fc.Reason, fc.Message, c.clock.Now())
	if fc.Type == batchv1.JobComplete {
		t := findCondition(st.Conditions, batchv1.JobComplete).LastTransitionTime
		st.CompletionTime = &t
	}
	return true
}

// removeFinalizers patches the tracking finalizer off pods and returns the
// UIDs it is gone from.
func (c *Controller) removeFinalizers(ctx context.Context, key string, pods []*corev1.Pod) ([]string, error) {
	if len(pods) == 0 {
		return nil, nil
	}
	uids := make([]string, len(pods))
	for i, p := range pods {
		uids[i] = string(p.UID)
	}
	c.finalizerExpectations.Expect(key, uids...)
	ok := make([]bool, len(pods))
	errs := make([]error, len(pods))
	workqueue.ParallelizeUntil(ctx, parallelCalls, len(pods), func(i int) {
		if err := c.removeTrackingFinalizer(ctx, pods[i]); err != nil {
			c.finalizerExpectations.Observed(key, uids[i])
			errs[i] = fmt.Errorf("removing tracking finalizer from pod %s: %w", pods[i].Name, err)
			return
		}
		ok[i] = true
	})
	var released []string
	var firstErr error
	for i := range pods {
		if ok[i] {
			released = append(released, uids[i])
		} else if firstErr == nil {
			firstErr = errs[i]
		}
	}
	return released, firstErr
}

// writeStatus writes job's status and keeps the returned resourceVersion for
// the next write of the same sync.
func (c *Controller) writeStatus(ctx context.Context, job *batchv1.Job) error {
	got, err := c.client.BatchV1().Jobs(job.Namespace).UpdateStatus(ctx, job, metav1.UpdateOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	job.ResourceVersion = got.ResourceVersion
	return nil
}
