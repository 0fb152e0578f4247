package job

import (
	"context"
	"errors"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/tools/cache"
)

// syncContext is what one sync of one Job knows.
type syncContext struct {
	key string
	// job is a private copy whose status the sync rewrites.
	job        *batchv1.Job
	pods       []*corev1.Pod
	activePods []*corev1.Pod

	// succeeded/failed are the totals including pods not yet recorded.
	succeeded   int32
	failed      int32
	terminating int32

	uncountedSucceeded   sets.Set[string]
	uncountedFailed      sets.Set[string]
	expectedRmFinalizers sets.Set[string]

	// backoff is the Job's back-off record with this sync's finished pods.
	backoff backoffRecord

	// finishedCondition is the interim (FailureTarget, SuccessCriteriaMet) or,
	// once recorded, terminal condition the Job is heading to.
	finishedCondition *batchv1.JobCondition

	prevSucceededIndexes indexSet
	succeededIndexes     indexSet
	failedIndexes        indexSet
	// lastFailedPerIndex: backoffLimitPerIndex only.
	lastFailedPerIndex map[int]*corev1.Pod
}

// newPods returns the pods not yet accounted for: carrying the tracking
// finalizer with no removal in flight, not in exclude, and (Indexed) with a
// valid index.
func (sc *syncContext) newPods(exclude ...sets.Set[string]) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range sc.pods {
		uid := string(p.UID)
		if !hasTrackingFinalizer(p) || sc.expectedRmFinalizers.Has(uid) {
			continue
		}
		excluded := false
		for _, s := range exclude {
			excluded = excluded || s.Has(uid)
		}
		if excluded || (isIndexed(sc.job) && !validIndex(sc.job, p)) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// syncJob brings one Job closer to its spec. It reads the Job and its pods
// from the caches and writes pods and status through the API.
func (c *Controller) syncJob(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	shared, err := c.jobLister.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.forget(key)
		return nil
	}
	if err != nil {
		return fmt.Errorf("getting job %s: %w", key, err)
	}
	if !isManaged(shared) {
		return nil
	}
	if isFinished(shared) {
		c.backoffs.delete(key)
		return nil
	}
	if m := shared.Spec.CompletionMode; m != nil && *m != batchv1.NonIndexedCompletion && *m != batchv1.IndexedCompletion {
		c.recorder.Event(shared, corev1.EventTypeWarning, reasonUnknownCompletionMode, "Skipped Job sync because completion mode is unknown")
		return nil
	}
	job := shared.DeepCopy()
	// Read the expectations before the pods: a pod seen between the two
	// would otherwise be double counted.
	satisfied := c.expectations.Satisfied(key)
	pods, claimErr := c.claimPods(ctx, job)
	if claimErr != nil && pods == nil {
		return claimErr
	}
	sc := c.observe(key, job, pods)

	now := c.clock.Now()
	if job.Status.StartTime == nil && !isSuspended(job) {
		job.Status.StartTime = &metav1.Time{Time: now}
	}
	resuming := !isSuspended(job) && hasTrueCondition(job, batchv1.JobSuspended) != nil
	if resuming && satisfied {
		// A resumed Job's deadline counts from the resume.
		job.Status.StartTime = &metav1.Time{Time: now}
	}

	c.decideFinish(sc, now)

	active := int32(len(sc.activePods))
	ready := countReady(sc.activePods)
	var manageErr error
	if sc.finishedCondition != nil {
		deleted, deletedReady, err := c.deleteActivePods(ctx, job, sc.activePods)
		if deleted != active || !satisfied {
			// Not finished until every deletion is through and observed.
			sc.finishedCondition = nil
		}
		active -= deleted
		ready -= deletedReady
		sc.terminating += deleted
		manageErr = err
	} else {
		manageCalled := false
		if satisfied && job.DeletionTimestamp == nil {
			var deletedReady int32
			active, deletedReady, manageErr = c.manageJob(ctx, sc)
			ready -= deletedReady
			manageCalled = true
		}
		if isComplete(job, sc.succeeded, active) {
			sc.finishedCondition = newCondition(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue,
				batchv1.JobReasonCompletionsReached, msgCompletionsReached, now)
			if job.Spec.Completions != nil && sc.succeeded > *job.Spec.Completions {
				c.recorder.Event(job, corev1.EventTypeWarning, reasonTooManySucceededPods, "Too many succeeded pods running after completion count reached")
			}
		} else if manageCalled {
			c.updateSuspendCondition(job, now)
		}
	}
	job.Status.Active = active
	job.Status.Ready = &ready
	terminating := sc.terminating
	job.Status.Terminating = &terminating

	if err := c.trackStatus(ctx, sc, shared.Status); err != nil {
		return errors.Join(fmt.Errorf("tracking status of job %s: %w", key, err), manageErr, claimErr)
	}
	return errors.Join(manageErr, claimErr)
}

// forget drops what the controller remembers about a deleted Job.
func (c *Controller) forget(key string) {
	c.expectations.Delete(key)
	c.finalizerExpectations.Delete(key)
	c.backoffs.delete(key)
}

// observe counts the Job's pods.
func (c *Controller) observe(key string, job *batchv1.Job, pods []*corev1.Pod) *syncContext {
	if job.Status.UncountedTerminatedPods == nil {
		job.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	}
	u := job.Status.UncountedTerminatedPods
	sc := &syncContext{
		key:                  key,
		job:                  job,
		pods:                 pods,
		uncountedSucceeded:   sets.New[string](),
		uncountedFailed:      sets.New[string](),
		expectedRmFinalizers: c.finalizerExpectations.Pending(key),
	}
	for _, uid := range u.Succeeded {
		sc.uncountedSucceeded.Insert(string(uid))
	}
	for _, uid := range u.Failed {
		sc.uncountedFailed.Insert(string(uid))
	}
	for _, p := range pods {
		if isActive(p) {
			sc.activePods = append(sc.activePods, p)
		}
		if isTerminating(p) {
			sc.terminating++
		}
	}
	var newSucceeded, newFailed []*corev1.Pod
	for _, p := range sc.newPods(sc.uncountedSucceeded) {
		if p.Status.Phase == corev1.PodSucceeded {
			newSucceeded = append(newSucceeded, p)
		}
	}
	for _, p := range sc.newPods(sc.uncountedFailed) {
		if isPodFailed(p, job) {
			newFailed = append(newFailed, p)
		}
	}
	sc.succeeded = job.Status.Succeeded + int32(len(newSucceeded)) + int32(len(u.Succeeded))
	sc.failed = job.Status.Failed + countedFailures(job, newFailed) + int32(len(u.Failed))
	sc.backoff = c.backoffs.get(key).next(newSucceeded, newFailed)
	return sc
}

// decideFinish looks for a reason to finish the Job, first hit wins:
// an earlier FailureTarget or SuccessCriteriaMet, a FailJob rule, the
// backoff limit, the deadline, failed indexes, the success policy.
func (c *Controller) decideFinish(sc *syncContext, now time.Time) {
	job := sc.job
	if cond := hasTrueCondition(job, batchv1.JobSuccessCriteriaMet); cond != nil {
		sc.finishedCondition = cond.DeepCopy()
	} else if cond := hasTrueCondition(job, batchv1.JobFailureTarget); cond != nil {
		sc.finishedCondition = terminalFor(cond, now)
	} else if msg := failJobMessage(job, sc.pods); msg != "" {
		sc.finishedCondition = newCondition(batchv1.JobFailureTarget, corev1.ConditionTrue, batchv1.JobReasonPodFailurePolicy, msg, now)
	} else if sc.failed > backoffLimitOf(job) || pastBackoffLimitOnFailure(job, sc.pods) {
		sc.finishedCondition = newCondition(batchv1.JobFailureTarget, corev1.ConditionTrue, batchv1.JobReasonBackoffLimitExceeded, msgBackoffLimitExceeded, now)
	} else if left, ok := c.deadlineLeft(job); ok {
		if left <= 0 {
			sc.finishedCondition = newCondition(batchv1.JobFailureTarget, corev1.ConditionTrue, batchv1.JobReasonDeadlineExceeded, msgDeadlineExceeded, now)
		} else {
			c.enqueue(job, left)
		}
	}
	if !isIndexed(job) {
		return
	}
	sc.prevSucceededIndexes, sc.succeededIndexes = succeededIndexes(job, sc.pods)
	sc.succeeded = int32(sc.succeededIndexes.total())
	if hasBackoffLimitPerIndex(job) {
		sc.failedIndexes = failedIndexes(job, sc.pods)
		if sc.finishedCondition == nil {
			failed := sc.failedIndexes.total()
			if job.Spec.MaxFailedIndexes != nil && failed > int(*job.Spec.MaxFailedIndexes) {
				sc.finishedCondition = newCondition(batchv1.JobFailureTarget, corev1.ConditionTrue, batchv1.JobReasonMaxFailedIndexesExceeded, msgMaxFailedIndexes, now)
			} else if failed > 0 && failed+sc.succeededIndexes.total() >= int(completionsOf(job)) {
				sc.finishedCondition = newCondition(batchv1.JobFailureTarget, corev1.ConditionTrue, batchv1.JobReasonFailedIndexes, msgFailedIndexes, now)
			}
		}
		sc.lastFailedPerIndex = lastFailedPodPerIndex(sc)
	}
	if sc.finishedCondition == nil {
		if msg, ok := matchSuccessPolicy(job.Spec.SuccessPolicy, completionsOf(job), sc.succeededIndexes); ok {
			sc.finishedCondition = newCondition(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue, batchv1.JobReasonSuccessPolicy, msg, now)
		}
	}
}

// deadlineLeft returns the time until activeDeadlineSeconds is reached, and
// false when no deadline runs (unset, not started, or suspended).
func (c *Controller) deadlineLeft(job *batchv1.Job) (time.Duration, bool) {
	if job.Spec.ActiveDeadlineSeconds == nil || job.Status.StartTime == nil || isSuspended(job) {
		return 0, false
	}
	allowed := time.Duration(*job.Spec.ActiveDeadlineSeconds) * time.Second
	return allowed - c.clock.Since(job.Status.StartTime.Time), true
}

// isComplete: completions unset → some pod succeeded and none is active;
// else succeeded reached completions and none is active.
func isComplete(job *batchv1.Job, succeeded, active int32) bool {
	if active != 0 {
		return false
	}
	if job.Spec.Completions == nil {
		return succeeded > 0
	}
	return succeeded >= *job.Spec.Completions
}

// updateSuspendCondition keeps the Suspended condition in step with
// spec.suspend, emitting Suspended/Resumed events on changes.
func (c *Controller) updateSuspendCondition(job *batchv1.Job, now time.Time) {
	var changed bool
	if isSuspended(job) {
		job.Status.Conditions, changed = ensureCondition(job.Status.Conditions, batchv1.JobSuspended, corev1.ConditionTrue, reasonJobSuspended, msgJobSuspended, now)
		if changed {
			c.recorder.Event(job, corev1.EventTypeNormal, reasonSuspended, msgJobSuspended)
		}
		return
	}
	job.Status.Conditions, changed = ensureCondition(job.Status.Conditions, batchv1.JobSuspended, corev1.ConditionFalse, reasonJobResumed, msgJobResumed, now)
	if changed {
		c.recorder.Event(job, corev1.EventTypeNormal, reasonResumed, msgJobResumed)
		job.Status.StartTime = &metav1.Time{Time: now}
	}
}

func countReady(pods []*corev1.Pod) int32 {
	n := int32(0)
	for _, p := range pods {
		if isPodReady(p) {
			n++
		}
	}
	return n
}
