package job

import (
	"math"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kjet-dev/kjet/internal/registry/pod"
)

// Job defaults.
const (
	DefaultBackoffLimit int32 = 6
	// DefaultBackoffLimitWithPerIndex is backoffLimit's default when backoffLimitPerIndex is set.
	DefaultBackoffLimitWithPerIndex int32 = math.MaxInt32
)

// The labels the API server adds to a Job's pod template (and selector) at create time.
const (
	ControllerUIDLabel       = batchv1.ControllerUidLabel // batch.kubernetes.io/controller-uid
	JobNameLabel             = batchv1.JobNameLabel       // batch.kubernetes.io/job-name
	LegacyControllerUIDLabel = "controller-uid"
	LegacyJobNameLabel       = "job-name"
)

// SetDefaults applies Kubernetes' Job defaults: parallelism 1, completions 1 only when
// both are unset, completionMode NonIndexed, backoffLimit 6 (MaxInt32 with
// backoffLimitPerIndex), suspend and manualSelector false, podReplacementPolicy
// (Failed with a podFailurePolicy, else TerminatingOrFailed), onPodConditions status
// True, and the pod template defaults.
func SetDefaults(job *batchv1.Job) {
	spec := &job.Spec
	if spec.Completions == nil && spec.Parallelism == nil {
		spec.Completions = ptr.To(int32(1))
		spec.Parallelism = ptr.To(int32(1))
	}
	if spec.Parallelism == nil {
		spec.Parallelism = ptr.To(int32(1))
	}
	if spec.BackoffLimit == nil {
		if spec.BackoffLimitPerIndex != nil {
			spec.BackoffLimit = ptr.To(DefaultBackoffLimitWithPerIndex)
		} else {
			spec.BackoffLimit = ptr.To(DefaultBackoffLimit)
		}
	}
	if spec.CompletionMode == nil {
		spec.CompletionMode = ptr.To(batchv1.NonIndexedCompletion)
	}
	if spec.Suspend == nil {
		spec.Suspend = ptr.To(false)
	}
	if spec.ManualSelector == nil {
		spec.ManualSelector = ptr.To(false)
	}
	if spec.PodFailurePolicy != nil {
		for i := range spec.PodFailurePolicy.Rules {
			for j := range spec.PodFailurePolicy.Rules[i].OnPodConditions {
				if p := &spec.PodFailurePolicy.Rules[i].OnPodConditions[j]; p.Status == "" {
					p.Status = corev1.ConditionTrue
				}
			}
		}
	}
	if spec.PodReplacementPolicy == nil {
		if spec.PodFailurePolicy != nil {
			spec.PodReplacementPolicy = ptr.To(batchv1.Failed)
		} else {
			spec.PodReplacementPolicy = ptr.To(batchv1.TerminatingOrFailed)
		}
	}
	pod.SetDefaultsPodSpec(&spec.Template.Spec)
}

// GenerateSelector adds the controller-uid and job-name labels (new and legacy keys) to
// the pod template unless present, and the controller-uid key to the selector (creating
// it if needed). Conflicting user values are left for validation to reject. It needs
// the Job's UID and name to be set.
func GenerateSelector(job *batchv1.Job) {
	tmpl := &job.Spec.Template
	if tmpl.Labels == nil {
		tmpl.Labels = map[string]string{}
	}
	for _, l := range []struct{ key, value string }{
		{ControllerUIDLabel, string(job.UID)},
		{JobNameLabel, job.Name},
		{LegacyControllerUIDLabel, string(job.UID)},
		{LegacyJobNameLabel, job.Name},
	} {
		if _, found := tmpl.Labels[l.key]; !found {
			tmpl.Labels[l.key] = l.value
		}
	}
	if job.Spec.Selector == nil {
		job.Spec.Selector = &metav1.LabelSelector{}
	}
	if job.Spec.Selector.MatchLabels == nil {
		job.Spec.Selector.MatchLabels = map[string]string{}
	}
	if _, found := job.Spec.Selector.MatchLabels[ControllerUIDLabel]; !found {
		job.Spec.Selector.MatchLabels[ControllerUIDLabel] = string(job.UID)
	}
}

// manualSelector reports whether the user manages the selector (manualSelector: true).
func manualSelector(spec *batchv1.JobSpec) bool {
	return spec.ManualSelector != nil && *spec.ManualSelector
}
