package job

import (
	"math"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition reasons and messages (as Kubernetes writes them).
const (
	msgCompletionsReached   = "Reached expected number of succeeded pods"
	msgBackoffLimitExceeded = "Job has reached the specified backoff limit"
	msgDeadlineExceeded     = "Job was active longer than specified deadline"
	msgMaxFailedIndexes     = "Job has exceeded the specified maximal number of failed indexes"
	msgFailedIndexes        = "Job has failed indexes"
	reasonJobSuspended      = "JobSuspended"
	msgJobSuspended         = "Job suspended"
	reasonJobResumed        = "JobResumed"
	msgJobResumed           = "Job resumed"
	defaultBackoffLimit     = 6
)

func newCondition(t batchv1.JobConditionType, status corev1.ConditionStatus, reason, message string, now time.Time) *batchv1.JobCondition {
	return &batchv1.JobCondition{
		Type:               t,
		Status:             status,
		Reason:             reason,
		Message:            message,
		LastProbeTime:      metav1.NewTime(now),
		LastTransitionTime: metav1.NewTime(now),
	}
}

func findCondition(conds []batchv1.JobCondition, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

func hasTrueCondition(job *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	if c := findCondition(job.Status.Conditions, t); c != nil && c.Status == corev1.ConditionTrue {
		return c
	}
	return nil
}

// isFinished: Complete or Failed is True.
func isFinished(job *batchv1.Job) bool {
	return hasTrueCondition(job, batchv1.JobComplete) != nil || hasTrueCondition(job, batchv1.JobFailed) != nil
}

// ensureCondition sets the condition of type t, appending it unless it is
// absent and wanted False. It reports whether anything changed.
func ensureCondition(conds []batchv1.JobCondition, t batchv1.JobConditionType, status corev1.ConditionStatus, reason, message string, now time.Time) ([]batchv1.JobCondition, bool) {
	if c := findCondition(conds, t); c != nil {
		if c.Status == status && c.Reason == reason && c.Message == message {
			return conds, false
		}
		*c = *newCondition(t, status, reason, message, now)
		return conds, true
	}
	if status == corev1.ConditionFalse {
		return conds, false
	}
	return append(conds, *newCondition(t, status, reason, message, now)), true
}

// terminalFor returns the terminal condition (Failed/Complete) that follows
// the interim one (FailureTarget/SuccessCriteriaMet), with the same reason and
// message.
func terminalFor(interim *batchv1.JobCondition, now time.Time) *batchv1.JobCondition {
	t := batchv1.JobFailed
	if interim.Type == batchv1.JobSuccessCriteriaMet {
		t = batchv1.JobComplete
	}
	return newCondition(t, corev1.ConditionTrue, interim.Reason, interim.Message, now)
}

func isSuspended(job *batchv1.Job) bool { return job.Spec.Suspend != nil && *job.Spec.Suspend }

func parallelismOf(job *batchv1.Job) int32 {
	if job.Spec.Parallelism == nil {
		return 1
	}
	return max(*job.Spec.Parallelism, 0)
}

// completionsOf returns spec.completions, 0 when unset (Indexed Jobs always
// set it).
func completionsOf(job *batchv1.Job) int32 {
	if job.Spec.Completions == nil {
		return 0
	}
	return *job.Spec.Completions
}

func backoffLimitOf(job *batchv1.Job) int32 {
	if job.Spec.BackoffLimit != nil {
		return *job.Spec.BackoffLimit
	}
	if hasBackoffLimitPerIndex(job) {
		return math.MaxInt32
	}
	return defaultBackoffLimit
}

// pastBackoffLimitOnFailure: with restartPolicy OnFailure the container
// restarts of pending and running pods count toward backoffLimit.
func pastBackoffLimitOnFailure(job *batchv1.Job, pods []*corev1.Pod) bool {
	if job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		return false
	}
	var restarts int32
	for _, p := range pods {
		if p.Status.Phase != corev1.PodRunning && p.Status.Phase != corev1.PodPending {
			continue
		}
		for _, cs := range p.Status.InitContainerStatuses {
			restarts += cs.RestartCount
		}
		for _, cs := range p.Status.ContainerStatuses {
			restarts += cs.RestartCount
		}
	}
	limit := backoffLimitOf(job)
	if limit == 0 {
		return restarts > 0
	}
	return restarts >= limit
}
