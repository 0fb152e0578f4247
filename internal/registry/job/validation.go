package job

import (
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kjet-dev/kjet/internal/registry"
	"github.com/kjet-dev/kjet/internal/registry/pod"
)

// Limits of Indexed Jobs and managedBy.
const (
	maxIndexedCompletions = 100000
	maxParallelismIndexed = 100000
	maxFailedIndexesLimit = 100000
	maxManagedByLength    = 63
)

// validateJob checks a whole Job (create, and the first half of update): metadata, the
// generated selector, the spec.
func validateJob(job *batchv1.Job, requireBatchLabels bool) field.ErrorList {
	errs := registry.ValidateObjectMeta(&job.ObjectMeta, true, apivalidation.NameIsDNSSubdomain)
	if isIndexed(&job.Spec) && job.Spec.Completions != nil && *job.Spec.Completions > 0 {
		host := fmt.Sprintf("%s-%d", job.Name, *job.Spec.Completions-1)
		if len(validation.IsDNS1123Label(host)) > 0 {
			errs = append(errs, field.Invalid(registry.MetadataPath.Child("name"), job.Name, "will not able to create pod with invalid DNS label: "+host))
		}
	}
	errs = append(errs, validateGeneratedSelector(job, requireBatchLabels)...)
	errs = append(errs, ValidateJobSpec(&job.Spec, field.NewPath("spec"))...)
	return errs
}

// validateGeneratedSelector checks that a Job without manualSelector carries the
// generated labels and a selector they satisfy.
func validateGeneratedSelector(job *batchv1.Job, requireBatchLabels bool) field.ErrorList {
	spec := &job.Spec
	if manualSelector(spec) || spec.Template.Labels == nil || spec.Selector == nil {
		return nil // a missing selector is reported by ValidateJobSpec
	}
	var errs field.ErrorList
	metaPath := field.NewPath("spec", "template", "metadata")
	expected := map[string]string{
		LegacyControllerUIDLabel: string(job.UID),
		LegacyJobNameLabel:       job.Name,
	}
	errs = append(errs, hasLabel(spec.Template.Labels, metaPath, LegacyControllerUIDLabel, string(job.UID))...)
	errs = append(errs, hasLabel(spec.Template.Labels, metaPath, LegacyJobNameLabel, job.Name)...)
	if requireBatchLabels {
		errs = append(errs, hasLabel(spec.Template.Labels, metaPath, ControllerUIDLabel, string(job.UID))...)
		errs = append(errs, hasLabel(spec.Template.Labels, metaPath, JobNameLabel, job.Name)...)
		expected[ControllerUIDLabel] = string(job.UID)
		expected[JobNameLabel] = job.Name
	}
	if sel, err := metav1.LabelSelectorAsSelector(spec.Selector); err == nil && !sel.Matches(labels.Set(expected)) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "selector"), spec.Selector, "`selector` not auto-generated"))
	}
	return errs
}

func hasLabel(l map[string]string, metaPath *field.Path, key, want string) field.ErrorList {
	path := metaPath.Child("labels").Key(key)
	got, found := l[key]
	switch {
	case !found:
		return field.ErrorList{field.Required(path, "must be '"+want+"'")}
	case got != want:
		return field.ErrorList{field.Invalid(path, l, "must be '"+want+"'")}
	}
	return nil
}

// ValidateJobSpec checks a Job's spec: the shared rules of ValidateJobSpecFields, then a
// selector that the template's labels satisfy.
func ValidateJobSpec(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	errs := ValidateJobSpecFields(spec, fldPath)
	if spec.Selector == nil {
		errs = append(errs, field.Required(fldPath.Child("selector"), ""))
	} else {
		errs = append(errs, metav1validation.ValidateLabelSelector(spec.Selector, metav1validation.LabelSelectorValidationOptions{}, fldPath.Child("selector"))...)
	}
	if sel, err := metav1.LabelSelectorAsSelector(spec.Selector); err == nil && !sel.Matches(labels.Set(spec.Template.Labels)) {
		errs = append(errs, field.Invalid(fldPath.Child("template", "metadata", "labels"), spec.Template.Labels, "`selector` does not match template `labels`"))
	}
	return errs
}

// ValidateJobSpecFields checks the rules Jobs and CronJob job templates share:
// counts, completion mode, back-off limits, policies, managedBy, the pod template and
// the restart policy (OnFailure or Never).
func ValidateJobSpecFields(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	nonNegative := func(v *int32, name string) {
		if v != nil {
			errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*v), fldPath.Child(name))...)
		}
	}
	nonNegative(spec.Parallelism, "parallelism")
	nonNegative(spec.Completions, "completions")
	if spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(*spec.ActiveDeadlineSeconds, fldPath.Child("activeDeadlineSeconds"))...)
	}
	nonNegative(spec.BackoffLimit, "backoffLimit")
	nonNegative(spec.TTLSecondsAfterFinished, "ttlSecondsAfterFinished")
	if spec.BackoffLimitPerIndex != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*spec.BackoffLimitPerIndex), fldPath.Child("backoffLimitPerIndex"))...)
		if !isIndexed(spec) {
			errs = append(errs, field.Invalid(fldPath.Child("backoffLimitPerIndex"), *spec.BackoffLimitPerIndex, "requires indexed completion mode"))
		}
	}
	if spec.MaxFailedIndexes != nil {
		path := fldPath.Child("maxFailedIndexes")
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*spec.MaxFailedIndexes), path)...)
		if spec.BackoffLimitPerIndex == nil {
			errs = append(errs, field.Required(fldPath.Child("backoffLimitPerIndex"), "when maxFailedIndexes is specified"))
		}
		if !isIndexed(spec) {
			errs = append(errs, field.Invalid(path, *spec.MaxFailedIndexes, "requires indexed completion mode"))
		} else if spec.Completions != nil && *spec.MaxFailedIndexes > *spec.Completions {
			errs = append(errs, field.Invalid(path, *spec.MaxFailedIndexes, "must be less than or equal to completions"))
		}
		if *spec.MaxFailedIndexes > maxFailedIndexesLimit {
			errs = append(errs, field.Invalid(path, *spec.MaxFailedIndexes, fmt.Sprintf("must be less than or equal to %d", maxFailedIndexesLimit)))
		}
	}
	if spec.CompletionMode != nil {
		mode := *spec.CompletionMode
		if mode != batchv1.NonIndexedCompletion && mode != batchv1.IndexedCompletion {
			errs = append(errs, field.NotSupported(fldPath.Child("completionMode"), mode,
				[]string{string(batchv1.NonIndexedCompletion), string(batchv1.IndexedCompletion)}))
		}
		if mode == batchv1.IndexedCompletion {
			if spec.Completions == nil {
				errs = append(errs, field.Required(fldPath.Child("completions"), fmt.Sprintf("when completion mode is %s", batchv1.IndexedCompletion)))
			} else if *spec.Completions > maxIndexedCompletions {
				errs = append(errs, field.Invalid(fldPath.Child("completions"), *spec.Completions, fmt.Sprintf("must be less than or equal to %d when completion mode is %s", maxIndexedCompletions, batchv1.IndexedCompletion)))
			}
			if spec.Parallelism != nil && *spec.Parallelism > maxParallelismIndexed {
				errs = append(errs, field.Invalid(fldPath.Child("parallelism"), *spec.Parallelism, fmt.Sprintf("must be less than or equal to %d when completion mode is %s", maxParallelismIndexed, batchv1.IndexedCompletion)))
			}
		}
	}
	if spec.ManagedBy != nil {
		path := fldPath.Child("managedBy")
		errs = append(errs, validation.IsDomainPrefixedPath(path, *spec.ManagedBy)...)
		if len(*spec.ManagedBy) > maxManagedByLength {
			errs = append(errs, field.TooLong(path, "", maxManagedByLength))
		}
	}
	if spec.PodFailurePolicy != nil {
		errs = append(errs, validatePodFailurePolicy(spec, fldPath.Child("podFailurePolicy"))...)
	}
	if spec.SuccessPolicy != nil {
		errs = append(errs, validateSuccessPolicy(spec, fldPath.Child("successPolicy"))...)
	}
	errs = append(errs, validatePodReplacementPolicy(spec, fldPath.Child("podReplacementPolicy"))...)
	errs = append(errs, pod.ValidatePodTemplateSpec(&spec.Template, fldPath.Child("template"))...)

	restartPath := fldPath.Child("template", "spec", "restartPolicy")
	switch rp := spec.Template.Spec.RestartPolicy; {
	case rp == corev1.RestartPolicyAlways || rp == "":
		errs = append(errs, field.Required(restartPath, fmt.Sprintf("valid values: %q, %q", corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever)))
	case rp != corev1.RestartPolicyOnFailure && rp != corev1.RestartPolicyNever:
		errs = append(errs, field.NotSupported(restartPath, rp, []string{string(corev1.RestartPolicyOnFailure), string(corev1.RestartPolicyNever)}))
	case spec.PodFailurePolicy != nil && rp != corev1.RestartPolicyNever:
		errs = append(errs, field.Invalid(restartPath, rp, fmt.Sprintf("only %q is supported when podFailurePolicy is specified", corev1.RestartPolicyNever)))
	}
	return errs
}

// validateJobSpecUpdate checks what may not change: completions (Indexed: only together
// with parallelism), selector, template (see templateMutable), completionMode,
// podFailurePolicy, backoffLimitPerIndex, managedBy, successPolicy.
func validateJobSpecUpdate(job, old *batchv1.Job) field.ErrorList {
	spec, oldSpec := &job.Spec, &old.Spec
	fldPath := field.NewPath("spec")
	var errs field.ErrorList
	errs = append(errs, validateCompletionsUpdate(spec, oldSpec, fldPath.Child("completions"))...)
	errs = append(errs, apivalidation.ValidateImmutableField(spec.Selector, oldSpec.Selector, fldPath.Child("selector"))...)
	errs = append(errs, validateTemplateUpdate(job, old, fldPath.Child("template"))...)
	errs = append(errs, apivalidation.ValidateImmutableField(spec.CompletionMode, oldSpec.CompletionMode, fldPath.Child("completionMode"))...)
	errs = append(errs, apivalidation.ValidateImmutableField(spec.PodFailurePolicy, oldSpec.PodFailurePolicy, fldPath.Child("podFailurePolicy"))...)
	errs = append(errs, apivalidation.ValidateImmutableField(spec.BackoffLimitPerIndex, oldSpec.BackoffLimitPerIndex, fldPath.Child("backoffLimitPerIndex"))...)
	errs = append(errs, apivalidation.ValidateImmutableField(spec.ManagedBy, oldSpec.ManagedBy, fldPath.Child("managedBy"))...)
	errs = append(errs, apivalidation.ValidateImmutableField(spec.SuccessPolicy, oldSpec.SuccessPolicy, fldPath.Child("successPolicy"))...)
	return errs
}

func validateCompletionsUpdate(spec, oldSpec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	if !isIndexed(spec) {
		return apivalidation.ValidateImmutableField(spec.Completions, oldSpec.Completions, fldPath)
	}
	if equality.Semantic.DeepEqual(spec.Completions, oldSpec.Completions) || spec.Completions == nil {
		return nil
	}
	if spec.Parallelism == nil || *spec.Completions != *spec.Parallelism {
		return field.ErrorList{field.Invalid(fldPath, spec.Completions, "can only be modified in tandem with spec.parallelism")}
	}
	return nil
}

// validateTemplateUpdate rejects template changes, except that while the old Job is
// suspended and has never started its pods' labels, annotations, node selector,
// tolerations, scheduling gates and node affinity may change.
func validateTemplateUpdate(job, old *batchv1.Job, fldPath *field.Path) field.ErrorList {
	tmpl := &job.Spec.Template
	oldTmpl := old.Spec.Template.DeepCopy()
	if old.Spec.Suspend != nil && *old.Spec.Suspend && old.Status.StartTime == nil {
		oldTmpl.Labels = tmpl.Labels
		oldTmpl.Annotations = tmpl.Annotations
		oldTmpl.Spec.NodeSelector = tmpl.Spec.NodeSelector
		oldTmpl.Spec.Tolerations = tmpl.Spec.Tolerations
		oldTmpl.Spec.SchedulingGates = tmpl.Spec.SchedulingGates
		var nodeAffinity *corev1.NodeAffinity
		if tmpl.Spec.Affinity != nil {
			nodeAffinity = tmpl.Spec.Affinity.NodeAffinity
		}
		if oldTmpl.Spec.Affinity == nil && nodeAffinity != nil {
			oldTmpl.Spec.Affinity = &corev1.Affinity{}
		}
		if oldTmpl.Spec.Affinity != nil {
			oldTmpl.Spec.Affinity.NodeAffinity = nodeAffinity
			if equality.Semantic.DeepEqual(*oldTmpl.Spec.Affinity, corev1.Affinity{}) && tmpl.Spec.Affinity == nil {
				oldTmpl.Spec.Affinity = nil
			}
		}
	}
	if !equality.Semantic.DeepEqual(tmpl, oldTmpl) {
		return field.ErrorList{field.Invalid(fldPath, templateValue(tmpl), apivalidation.FieldImmutableErrorMsg)}
	}
	return nil
}

// validateJobStatus checks a status write: the counters may not be negative.
func validateJobStatus(status *batchv1.JobStatus) field.ErrorList {
	var errs field.ErrorList
	path := field.NewPath("status")
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(status.Active), path.Child("active"))...)
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(status.Succeeded), path.Child("succeeded"))...)
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(status.Failed), path.Child("failed"))...)
	if status.Ready != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*status.Ready), path.Child("ready"))...)
	}
	if status.Terminating != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*status.Terminating), path.Child("terminating"))...)
	}
	return errs
}

func isIndexed(spec *batchv1.JobSpec) bool {
	return spec.CompletionMode != nil && *spec.CompletionMode == batchv1.IndexedCompletion
}
