package job

import (
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// Event reasons on the Job (kubectl describe job shows them).
const (
	reasonSuccessfulCreate      = "SuccessfulCreate"
	reasonFailedCreate          = "FailedCreate"
	reasonSuccessfulDelete      = "SuccessfulDelete"
	reasonFailedDelete          = "FailedDelete"
	reasonCompleted             = "Completed"
	reasonSuspended             = "Suspended"
	reasonResumed               = "Resumed"
	reasonTooManySucceededPods  = "TooManySucceededPods"
	reasonUnknownCompletionMode = "UnknownCompletionMode"
	// reasonBackoffWaiting is kjet's own: a replacement pod is held back by
	// the recreation back-off.
	reasonBackoffWaiting = "BackoffWaiting"
)

// recordFinished emits Completed, or a Warning with the failure's reason
// and message.
func (c *Controller) recordFinished(job *batchv1.Job, cond *batchv1.JobCondition) {
	if cond.Type == batchv1.JobComplete {
		c.recorder.Event(job, corev1.EventTypeNormal, reasonCompleted, "Job completed")
		return
	}
	c.recorder.Event(job, corev1.EventTypeWarning, cond.Reason, cond.Message)
}

// announceBackoff tells, once per held-back retry, when the next pod starts.
func (c *Controller) announceBackoff(sc *syncContext, wait time.Duration) {
	rec := sc.backoff
	if rec.lastFailureTime == nil || !c.backoffs.announce(sc.key, *rec.lastFailureTime) {
		return
	}
	c.recorder.Eventf(sc.job, corev1.EventTypeNormal, reasonBackoffWaiting,
		"Pod %s failed (%s); next pod in %s (back-off after %s)",
		rec.lastFailedPod, rec.lastFailure, roundDelay(wait), failuresText(rec.failuresAfterLastSuccess))
}

// announceIndexBackoff is announceBackoff for backoffLimitPerIndex: the
// waiting index's last failed pod tells the story.
func (c *Controller) announceIndexBackoff(sc *syncContext, ix int, failed *corev1.Pod, wait time.Duration) {
	if !c.backoffs.announce(sc.key, finishedTime(failed)) {
		return
	}
	c.recorder.Eventf(sc.job, corev1.EventTypeNormal, reasonBackoffWaiting,
		"Pod %s failed (%s); next pod for index %d in %s (back-off after %s)",
		failed.Name, failureDescription(failed), ix, roundDelay(wait), failuresText(indexAbsoluteFailureCount(failed)+1))
}

func roundDelay(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}

func failuresText(n int32) string {
	if n == 1 {
		return "1 failure"
	}
	return fmt.Sprintf("%d failures", n)
}
