package job

import (
	"fmt"
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// policyMatch is the outcome of spec.podFailurePolicy for one failed pod.
type policyMatch struct {
	// action is the matched rule's action, "" when no rule matched.
	action batchv1.PodFailurePolicyAction
	// countFailed is false only for Ignore: the failure does not count toward
	// status.failed nor backoffLimit(PerIndex).
	countFailed bool
	// failJobMessage is set for FailJob.
	failJobMessage string
}

// matchPodFailurePolicy applies the rules in order; the first match decides.
func matchPodFailurePolicy(policy *batchv1.PodFailurePolicy, pod *corev1.Pod) policyMatch {
	if policy == nil {
		return policyMatch{countFailed: true}
	}
	for i, rule := range policy.Rules {
		var jobMsg string
		switch {
		case rule.OnExitCodes != nil:
			cs := matchOnExitCodes(&pod.Status, rule.OnExitCodes)
			if cs == nil {
				continue
			}
			jobMsg = fmt.Sprintf("Container %s for pod %s/%s failed with exit code %d matching %s rule at index %d",
				cs.Name, pod.Namespace, pod.Name, cs.State.Terminated.ExitCode, rule.Action, i)
		case len(rule.OnPodConditions) > 0:
			cond := matchOnPodConditions(&pod.Status, rule.OnPodConditions)
			if cond == nil {
				continue
			}
			jobMsg = fmt.Sprintf("Pod %s/%s has condition %s matching %s rule at index %d",
				pod.Namespace, pod.Name, cond.Type, rule.Action, i)
		default:
			continue
		}
		switch rule.Action {
		case batchv1.PodFailurePolicyActionIgnore:
			return policyMatch{action: rule.Action}
		case batchv1.PodFailurePolicyActionFailJob:
			return policyMatch{action: rule.Action, countFailed: true, failJobMessage: jobMsg}
		case batchv1.PodFailurePolicyActionFailIndex, batchv1.PodFailurePolicyActionCount:
			return policyMatch{action: rule.Action, countFailed: true}
		}
	}
	return policyMatch{countFailed: true}
}

// matchOnExitCodes looks at containers, then init containers, terminated
// with a non-zero exit code.
func matchOnExitCodes(st *corev1.PodStatus, req *batchv1.PodFailurePolicyOnExitCodesRequirement) *corev1.ContainerStatus {
	for _, list := range [][]corev1.ContainerStatus{st.ContainerStatuses, st.InitContainerStatuses} {
		for i := range list {
			cs := &list[i]
			t := cs.State.Terminated
			if t == nil || t.ExitCode == 0 {
				continue
			}
			if req.ContainerName != nil && *req.ContainerName != cs.Name {
				continue
			}
			in := slices.Contains(req.Values, t.ExitCode)
			if (req.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && in) ||
				(req.Operator == batchv1.PodFailurePolicyOnExitCodesOpNotIn && !in) {
				return cs
			}
		}
	}
	return nil
}

func matchOnPodConditions(st *corev1.PodStatus, patterns []batchv1.PodFailurePolicyOnPodConditionsPattern) *corev1.PodCondition {
	for _, pat := range patterns {
		for i := range st.Conditions {
			c := &st.Conditions[i]
			if c.Type == pat.Type && c.Status == pat.Status {
				return c
			}
		}
	}
	return nil
}

// failJobMessage returns the message of the first failed pod that matches a
// FailJob rule, or "".
func failJobMessage(job *batchv1.Job, pods []*corev1.Pod) string {
	if job.Spec.PodFailurePolicy == nil {
		return ""
	}
	for _, p := range pods {
		if !isPodFailed(p, job) {
			continue
		}
		if m := matchPodFailurePolicy(job.Spec.PodFailurePolicy, p); m.action == batchv1.PodFailurePolicyActionFailJob {
			return m.failJobMessage
		}
	}
	return ""
}

// countedFailures is how many of failed count toward status.failed.
func countedFailures(job *batchv1.Job, failed []*corev1.Pod) int32 {
	n := int32(0)
	for _, p := range failed {
		if matchPodFailurePolicy(job.Spec.PodFailurePolicy, p).countFailed {
			n++
		}
	}
	return n
}
