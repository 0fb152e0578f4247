package job

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
)

// manageJob creates or deletes pods so the number of active pods matches what
// the Job wants now. It returns the active count it expects afterwards and
// how many ready pods it deleted. A sync either deletes or creates, never both.
func (c *Controller) manageJob(ctx context.Context, sc *syncContext) (int32, int32, error) {
	job := sc.job
	active := int32(len(sc.activePods))
	if isSuspended(job) {
		return c.scaleDown(ctx, sc, c.podsForRemoval(sc, int(active)))
	}
	want := c.wantActive(sc, active)
	if rm := c.podsForRemoval(sc, int(max(active-want, 0))); len(rm) > 0 {
		return c.scaleDown(ctx, sc, rm)
	}
	diff := want - active
	if onlyReplaceFailedPods(job) {
		diff -= sc.terminating
	}
	if diff <= 0 {
		return active, 0, nil
	}
	if !hasBackoffLimitPerIndex(job) {
		b := sc.backoff
		if wait := remaining(c.clock, c.opts.BackoffBase, c.opts.BackoffMax, b.failuresAfterLastSuccess, b.lastFailureTime); wait > 0 {
			c.enqueue(job, wait)
			c.announceBackoff(sc, wait)
			return active, 0, nil
		}
	}
	diff = min(diff, maxPodCreateDeletePerSync)
	indexes := []int(nil)
	if isIndexed(job) {
		indexes = pendingIndexes(sc, int(diff))
		if hasBackoffLimitPerIndex(job) {
			var wait time.Duration
			indexes, wait = c.indexesReadyNow(sc, indexes)
			if len(indexes) == 0 && wait > 0 {
				c.enqueue(job, wait)
				return active, 0, nil
			}
		}
		diff = int32(len(indexes))
	}
	created, err := c.createPods(ctx, sc, int(diff), indexes)
	return active + int32(created), 0, err
}

// wantActive is how many pods should be active: parallelism, but never
// more than the completions still missing; with completions unset, nothing
// new once a pod succeeded.
func (c *Controller) wantActive(sc *syncContext, active int32) int32 {
	parallelism := parallelismOf(sc.job)
	if sc.job.Spec.Completions == nil {
		if sc.succeeded > 0 {
			return active
		}
		return parallelism
	}
	return max(min(*sc.job.Spec.Completions-sc.succeeded, parallelism), 0)
}

// podsForRemoval picks at least n active pods to delete (Indexed: plus any
// duplicate, out-of-range or already completed index), best candidates first.
func (c *Controller) podsForRemoval(sc *syncContext, n int) []*corev1.Pod {
	var rm []*corev1.Pod
	left := slices.Clone(sc.activePods)
	if isIndexed(sc.job) {
		rm, left = indexedPodsForRemoval(sc, left)
	}
	if len(rm) < n {
		sortForDeletion(left)
		rm = append(rm, left[:min(n-len(rm), len(left))]...)
	}
	if len(rm) > maxPodCreateDeletePerSync {
		rm = rm[:maxPodCreateDeletePerSync]
	}
	return rm
}

// indexesReadyNow keeps the indexes whose own back-off has expired; when none
// has, it returns the shortest wait.
func (c *Controller) indexesReadyNow(sc *syncContext, indexes []int) ([]int, time.Duration) {
	var now []int
	var minWait time.Duration
	waitIx := noIndex
	for _, ix := range indexes {
		wait := c.remainingForIndex(sc.lastFailedPerIndex[ix])
		if wait == 0 {
			now = append(now, ix)
		} else if waitIx == noIndex || wait < minWait {
			minWait, waitIx = wait, ix
		}
	}
	if len(now) == 0 && waitIx != noIndex {
		c.announceIndexBackoff(sc, waitIx, sc.lastFailedPerIndex[waitIx], minWait)
	}
	return now, minWait
}

// scaleDown removes the tracking finalizer from pods (their end is not a
// failure) and deletes them. It returns the active pods left and how many
// ready pods were deleted.
func (c *Controller) scaleDown(ctx context.Context, sc *syncContext, pods []*corev1.Pod) (int32, int32, error) {
	active := int32(len(sc.activePods))
	if len(pods) == 0 {
		return active, 0, nil
	}
	c.expectations.ExpectDeletions(sc.key, len(pods))
	var removed, removedReady atomic.Int32
	errs := make([]error, len(pods))
	workqueue.ParallelizeUntil(ctx, parallelCalls, len(pods), func(i int) {
		pod := pods[i]
		if hasTrackingFinalizer(pod) {
			if err := c.removeTrackingFinalizer(ctx, pod); err != nil {
				// The deletion will not happen, so it will not be observed.
				c.expectations.DeletionObserved(sc.key)
				errs[i] = fmt.Errorf("removing tracking finalizer from pod %s: %w", pod.Name, err)
				return
			}
		}
		if err := c.deletePodOf(ctx, sc.job, pod); err != nil {
			c.expectations.DeletionObserved(sc.key)
			errs[i] = err
			return
		}
		removed.Add(1)
		if isPodReady(pod) {
			removedReady.Add(1)
		}
	})
	// Deleted pods terminate for a while (as in Kubernetes, counted at once).
	sc.terminating += removed.Load()
	return active - removed.Load(), removedReady.Load(), errors.Join(errs...)
}

// deleteActivePods deletes the pods of a finishing Job, keeping their
// finalizers so they are counted. It returns how many are gone and how many
// of those were ready.
func (c *Controller) deleteActivePods(ctx context.Context, job *batchv1.Job, pods []*corev1.Pod) (int32, int32, error) {
	var deleted, deletedReady atomic.Int32
	errs := make([]error, len(pods))
	workqueue.ParallelizeUntil(ctx, parallelCalls, len(pods), func(i int) {
		if err := c.deletePodOf(ctx, job, pods[i]); err != nil {
			errs[i] = err
			return
		}
		deleted.Add(1)
		if isPodReady(pods[i]) {
			deletedReady.Add(1)
		}
	})
	return deleted.Load(), deletedReady.Load(), errors.Join(errs...)
}

// deletePodOf deletes one pod of job with events; a pod already gone counts
// as deleted.
func (c *Controller) deletePodOf(ctx context.Context, job *batchv1.Job, pod *corev1.Pod) error {
	err := c.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		c.recorder.Eventf(job, corev1.EventTypeWarning, reasonFailedDelete, "Error deleting: %v", err)
		return fmt.Errorf("deleting pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	if err == nil {
		c.recorder.Eventf(job, corev1.EventTypeNormal, reasonSuccessfulDelete, "Deleted pod: %s", pod.Name)
	}
	return nil
}

// createPods creates n pods (for indexes, when Indexed) in slow-start batches
// of 1, 2, 4, …; a failed batch skips the rest until a later sync. It returns
// how many were created.
func (c *Controller) createPods(ctx context.Context, sc *syncContext, n int, indexes []int) (int, error) {
	if n <= 0 {
		return 0, nil
	}
	c.expectations.ExpectCreations(sc.key, n)
	created := 0
	var errs []error
	var mu sync.Mutex // guards errs
	for batch, done := 1, 0; done < n; batch = min(2*batch, n-done) {
		batch = min(batch, n-done)
		var ok atomic.Int32
		failedBefore := len(errs)
		workqueue.ParallelizeUntil(ctx, parallelCalls, batch, func(i int) {
			ix := noIndex
			if indexes != nil {
				ix = indexes[done+i]
			}
			if err := c.createPod(ctx, sc, ix); err != nil {
				c.expectations.CreationObserved(sc.key)
				if !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
				return
			}
			ok.Add(1)
		})
		created += int(ok.Load())
		done += batch
		if len(errs) > failedBefore {
			if skipped := n - done; skipped > 0 {
				c.expectations.Lower(sc.key, skipped, 0)
			}
			break
		}
	}
	return created, errors.Join(errs...)
}

func (c *Controller) createPod(ctx context.Context, sc *syncContext, ix int) error {
	pod := newPodForJob(sc.job, ix, sc.lastFailedPerIndex[ix])
	got, err := c.client.CoreV1().Pods(sc.job.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		if !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			c.recorder.Eventf(sc.job, corev1.EventTypeWarning, reasonFailedCreate, "Error creating: %v", err)
		}
		return fmt.Errorf("creating pod for job %s: %w", sc.key, err)
	}
	c.recorder.Eventf(sc.job, corev1.EventTypeNormal, reasonSuccessfulCreate, "Created pod: %s", got.Name)
	return nil
}

// newPodForJob builds a pod from the Job's template: generated name,
// template labels/annotations/finalizers plus the tracking finalizer, the
// controller reference, and for Indexed Jobs the index label, annotation,
// hostname and JOB_COMPLETION_INDEX. replaced is the failed pod of the same
// index whose failure count carries over (backoffLimitPerIndex).
func newPodForJob(job *batchv1.Job, ix int, replaced *corev1.Pod) *corev1.Pod {
	tmpl := &job.Spec.Template
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    podGenerateName(job, ix),
			Namespace:       job.Namespace,
			Labels:          maps.Clone(tmpl.Labels),
			Annotations:     maps.Clone(tmpl.Annotations),
			Finalizers:      slices.Clone(tmpl.Finalizers),
			OwnerReferences: []metav1.OwnerReference{*controllerRef(job)},
		},
		Spec: *tmpl.Spec.DeepCopy(),
	}
	if !slices.Contains(pod.Finalizers, batchv1.JobTrackingFinalizer) {
		pod.Finalizers = append(pod.Finalizers, batchv1.JobTrackingFinalizer)
	}
	if ix == noIndex {
		return pod
	}
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	v := strconv.Itoa(ix)
	pod.Labels[batchv1.JobCompletionIndexAnnotation] = v
	pod.Annotations[batchv1.JobCompletionIndexAnnotation] = v
	if hasBackoffLimitPerIndex(job) {
		count, ignored := newIndexFailureCounts(job, replaced)
		pod.Annotations[batchv1.JobIndexFailureCountAnnotation] = strconv.Itoa(int(count))
		if ignored > 0 {
			pod.Annotations[batchv1.JobIndexIgnoredFailureCountAnnotation] = strconv.Itoa(int(ignored))
		}
	}
	pod.Spec.Hostname = fmt.Sprintf("%s-%d", job.Name, ix)
	addCompletionIndexEnv(&pod.Spec)
	return pod
}
