package apps

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kjet-dev/kjet/internal/registry/pod"
)

// doesNotMatchMessage is Kubernetes' complaint about a template its selector misses.
const doesNotMatchMessage = "`selector` does not match template `labels`"

// validateReplicatedSpec checks what ReplicaSets and Deployments share, as Kubernetes
// does for both: a required, valid, non-empty selector (the message says "deployment"
// for either kind, as in Kubernetes) and a pod template the selector matches whose pods
// restart Always and have no activeDeadlineSeconds.
func validateReplicatedSpec(selector *metav1.LabelSelector, template *corev1.PodTemplateSpec, specPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	selPath := specPath.Child("selector")
	if selector == nil {
		errs = append(errs, field.Required(selPath, ""))
	} else {
		errs = append(errs, metav1validation.ValidateLabelSelector(selector, metav1validation.LabelSelectorValidationOptions{}, selPath)...)
		if len(selector.MatchLabels)+len(selector.MatchExpressions) == 0 {
			errs = append(errs, field.Invalid(selPath, selector, "empty selector is invalid for deployment"))
		}
	}
	sel, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		return append(errs, field.Invalid(selPath, selector, "invalid label selector"))
	}
	templatePath := specPath.Child("template")
	if !sel.Empty() && !sel.Matches(labels.Set(template.Labels)) {
		errs = append(errs, field.Invalid(templatePath.Child("metadata", "labels"), template.Labels, doesNotMatchMessage))
	}
	errs = append(errs, validateTemplateRestarts(template, templatePath, "ReplicaSet")...)
	return errs
}

// validateTemplateRestarts checks a controller's pod template: the template itself, a
// restartPolicy of Always and no activeDeadlineSeconds (owner names the kind in the
// message, "ReplicaSet" or "DaemonSet").
func validateTemplateRestarts(template *corev1.PodTemplateSpec, templatePath *field.Path, owner string) field.ErrorList {
	errs := pod.ValidatePodTemplateSpec(template, templatePath)
	specPath := templatePath.Child("spec")
	if rp := template.Spec.RestartPolicy; rp != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(specPath.Child("restartPolicy"), rp, []string{string(corev1.RestartPolicyAlways)}))
	}
	if template.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(specPath.Child("activeDeadlineSeconds"), "activeDeadlineSeconds in "+owner+" is not Supported"))
	}
	return errs
}

// validateOptionalNonnegative checks an optional count (revisionHistoryLimit, ...).
func validateOptionalNonnegative(value *int32, fldPath *field.Path) field.ErrorList {
	if value == nil {
		return nil
	}
	return apivalidation.ValidateNonnegativeField(int64(*value), fldPath)
}

// validatePositiveIntOrPercent checks a maxSurge/maxUnavailable value: a non-negative
// integer or a percentage such as "25%". A nil value is left to the defaults.
func validatePositiveIntOrPercent(value *intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	if value == nil {
		return nil
	}
	var errs field.ErrorList
	switch value.Type {
	case intstr.String:
		for _, msg := range validation.IsValidPercent(value.StrVal) {
			errs = append(errs, field.Invalid(fldPath, *value, msg))
		}
	case intstr.Int:
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(value.IntValue()), fldPath)...)
	default:
		errs = append(errs, field.Invalid(fldPath, *value, "must be an integer or percentage (e.g '5%')"))
	}
	return errs
}

// percentValue returns the number of a valid percentage ("25%" gives 25, true).
func percentValue(value *intstr.IntOrString) (int, bool) {
	if value == nil || value.Type != intstr.String || len(validation.IsValidPercent(value.StrVal)) != 0 {
		return 0, false
	}
	n, err := strconv.Atoi(value.StrVal[:len(value.StrVal)-1])
	return n, err == nil
}

// intOrPercentValue is the number in value, whether a count or a percentage (nil is 0).
func intOrPercentValue(value *intstr.IntOrString) int {
	if n, ok := percentValue(value); ok {
		return n
	}
	if value == nil {
		return 0
	}
	return value.IntValue()
}

// validateNotMoreThan100Percent rejects percentages above 100%.
func validateNotMoreThan100Percent(value *intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	if n, ok := percentValue(value); ok && n > 100 {
		return field.ErrorList{field.Invalid(fldPath, *value, "must not be greater than 100%")}
	}
	return nil
}

// selectorString renders a label selector the way Scale.status.selector and the wide
// tables of deployments and daemonsets do ("" for none, "<invalid>" when unparsable).
func selectorString(selector *metav1.LabelSelector) string {
	sel, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		return "<invalid>"
	}
	return sel.String()
}
