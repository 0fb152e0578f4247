package job

import (
	"fmt"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Limits of the pod failure and success policies.
const (
	maxPodFailurePolicyRules                   = 20
	maxPodFailurePolicyOnExitCodesValues       = 255
	maxPodFailurePolicyOnPodConditionsPatterns = 20
	maxSuccessPolicyRules                      = 20
	maxSucceededIndexesLength                  = 64 * 1024
)

var (
	podFailurePolicyActions = []string{
		string(batchv1.PodFailurePolicyActionCount), string(batchv1.PodFailurePolicyActionFailIndex),
		string(batchv1.PodFailurePolicyActionFailJob), string(batchv1.PodFailurePolicyActionIgnore),
	}
	podConditionStatuses = []string{string(corev1.ConditionFalse), string(corev1.ConditionTrue), string(corev1.ConditionUnknown)}
	exitCodeOperators    = []string{string(batchv1.PodFailurePolicyOnExitCodesOpIn), string(batchv1.PodFailurePolicyOnExitCodesOpNotIn)}
)

func validatePodFailurePolicy(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	rulesPath := fldPath.Child("rules")
	rules := spec.PodFailurePolicy.Rules
	if len(rules) > maxPodFailurePolicyRules {
		errs = append(errs, field.TooMany(rulesPath, len(rules), maxPodFailurePolicyRules))
	}
	containers := sets.New[string]()
	for _, c := range spec.Template.Spec.Containers {
		containers.Insert(c.Name)
	}
	for _, c := range spec.Template.Spec.InitContainers {
		containers.Insert(c.Name)
	}
	for i := range rules {
		errs = append(errs, validatePodFailurePolicyRule(spec, &rules[i], rulesPath.Index(i), containers)...)
	}
	return errs
}

func validatePodFailurePolicyRule(spec *batchv1.JobSpec, rule *batchv1.PodFailurePolicyRule, rulePath *field.Path, containers sets.Set[string]) field.ErrorList {
	var errs field.ErrorList
	actionPath := rulePath.Child("action")
	switch {
	case rule.Action == "":
		errs = append(errs, field.Required(actionPath, fmt.Sprintf("valid values: %q", podFailurePolicyActions)))
	case rule.Action == batchv1.PodFailurePolicyActionFailIndex:
		if spec.BackoffLimitPerIndex == nil {
			errs = append(errs, field.Invalid(actionPath, string(rule.Action), "requires the backoffLimitPerIndex to be set"))
		}
	case !sets.New(podFailurePolicyActions...).Has(string(rule.Action)):
		errs = append(errs, field.NotSupported(actionPath, rule.Action, podFailurePolicyActions))
	}
	if rule.OnExitCodes != nil {
		errs = append(errs, validateOnExitCodes(rule.OnExitCodes, rulePath.Child("onExitCodes"), containers)...)
	}
	if len(rule.OnPodConditions) > 0 {
		errs = append(errs, validateOnPodConditions(rule.OnPodConditions, rulePath.Child("onPodConditions"))...)
	}
	if rule.OnExitCodes != nil && len(rule.OnPodConditions) > 0 {
		errs = append(errs, field.Invalid(rulePath, field.OmitValueType{}, "specifying both OnExitCodes and OnPodConditions is not supported"))
	}
	if rule.OnExitCodes == nil && len(rule.OnPodConditions) == 0 {
		errs = append(errs, field.Invalid(rulePath, field.OmitValueType{}, "specifying one of OnExitCodes and OnPodConditions is required"))
	}
	return errs
}

func validateOnPodConditions(patterns []batchv1.PodFailurePolicyOnPodConditionsPattern, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(patterns) > maxPodFailurePolicyOnPodConditionsPatterns {
		errs = append(errs, field.TooMany(fldPath, len(patterns), maxPodFailurePolicyOnPodConditionsPatterns))
	}
	for i, p := range patterns {
		patternPath := fldPath.Index(i)
		errs = append(errs, metav1validation.ValidateLabelName(string(p.Type), patternPath.Child("type"))...)
		statusPath := patternPath.Child("status")
		switch {
		case p.Status == "":
			errs = append(errs, field.Required(statusPath, fmt.Sprintf("valid values: %q", podConditionStatuses)))
		case !sets.New(podConditionStatuses...).Has(string(p.Status)):
			errs = append(errs, field.NotSupported(statusPath, p.Status, podConditionStatuses))
		}
	}
	return errs
}

func validateOnExitCodes(req *batchv1.PodFailurePolicyOnExitCodesRequirement, fldPath *field.Path, containers sets.Set[string]) field.ErrorList {
	var errs field.ErrorList
	operatorPath := fldPath.Child("operator")
	switch {
	case req.Operator == "":
		errs = append(errs, field.Required(operatorPath, fmt.Sprintf("valid values: %q", exitCodeOperators)))
	case !sets.New(exitCodeOperators...).Has(string(req.Operator)):
		errs = append(errs, field.NotSupported(operatorPath, req.Operator, exitCodeOperators))
	}
	if req.ContainerName != nil && !containers.Has(*req.ContainerName) {
		errs = append(errs, field.Invalid(fldPath.Child("containerName"), *req.ContainerName, "must be one of the container or initContainer names in the pod template"))
	}
	valuesPath := fldPath.Child("values")
	switch {
	case len(req.Values) == 0:
		errs = append(errs, field.Invalid(valuesPath, req.Values, "at least one value is required"))
	case len(req.Values) > maxPodFailurePolicyOnExitCodesValues:
		errs = append(errs, field.TooMany(valuesPath, len(req.Values), maxPodFailurePolicyOnExitCodesValues))
	default:
		ordered := true
		seen := sets.New[int32]()
		for i, v := range req.Values {
			valuePath := valuesPath.Index(i)
			if req.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && v == 0 {
				errs = append(errs, field.Invalid(valuePath, v, "must not be 0 for the In operator"))
			}
			if seen.Has(v) {
				errs = append(errs, field.Duplicate(valuePath, v))
			}
			seen.Insert(v)
			if i > 0 && req.Values[i-1] > v {
				ordered = false
			}
		}
		if !ordered {
			errs = append(errs, field.Invalid(valuesPath, req.Values, "must be ordered"))
		}
	}
	return errs
}

func validateSuccessPolicy(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if !isIndexed(spec) {
		return field.ErrorList{field.Invalid(fldPath, *spec.SuccessPolicy, "requires indexed completion mode")}
	}
	rulesPath := fldPath.Child("rules")
	rules := spec.SuccessPolicy.Rules
	if len(rules) == 0 {
		errs = append(errs, field.Required(rulesPath, "at least one rules must be specified when the successPolicy is specified"))
	}
	if len(rules) > maxSuccessPolicyRules {
		errs = append(errs, field.TooMany(rulesPath, len(rules), maxSuccessPolicyRules))
	}
	completions := int32(0)
	if spec.Completions != nil {
		completions = *spec.Completions
	}
	for i, rule := range rules {
		rulePath := rulesPath.Index(i)
		var total int32
		if rule.SucceededIndexes != nil {
			indexesPath := rulePath.Child("succeededIndexes")
			if len(*rule.SucceededIndexes) > maxSucceededIndexesLength {
				errs = append(errs, field.TooLong(indexesPath, "", maxSucceededIndexesLength))
			}
			var err error
			if total, err = countIndexes(*rule.SucceededIndexes, completions); err != nil {
				errs = append(errs, field.Invalid(indexesPath, *rule.SucceededIndexes, fmt.Sprintf("error parsing succeededIndexes: %s", err)))
			}
		}
		if rule.SucceededCount != nil {
			countPath := rulePath.Child("succeededCount")
			errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*rule.SucceededCount), countPath)...)
			if *rule.SucceededCount > completions {
				errs = append(errs, field.Invalid(countPath, *rule.SucceededCount, fmt.Sprintf("must be less than or equal to %d (the number of specified completions)", completions)))
			}
			if rule.SucceededIndexes != nil && *rule.SucceededCount > total {
				errs = append(errs, field.Invalid(countPath, *rule.SucceededCount, fmt.Sprintf("must be less than or equal to %d (the number of indexes in the specified succeededIndexes field)", total)))
			}
		}
		if rule.SucceededIndexes == nil && rule.SucceededCount == nil {
			errs = append(errs, field.Required(rulePath, "at least one of succeededCount or succeededIndexes must be specified"))
		}
	}
	return errs
}

// countIndexes parses an interval list ("1,3-5,7") of indexes below completions, in
// increasing order, and returns how many indexes it names.
func countIndexes(indexes string, completions int32) (int32, error) {
	if indexes == "" {
		return 0, nil
	}
	var total int32
	prev := int64(-1)
	for _, item := range strings.Split(indexes, ",") {
		lo, hi, isRange := strings.Cut(item, "-")
		first, err := strconv.ParseInt(lo, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("cannot convert string to integer for index: %q", lo)
		}
		last := first
		if isRange {
			if last, err = strconv.ParseInt(hi, 10, 32); err != nil {
				return 0, fmt.Errorf("cannot convert string to integer for index: %q", hi)
			}
			if last <= first {
				return 0, fmt.Errorf("non-increasing order, previous: %d, current: %d", first, last)
			}
		}
		if first <= prev {
			return 0, fmt.Errorf("non-increasing order, previous: %d, current: %d", prev, first)
		}
		if last >= int64(completions) {
			return 0, fmt.Errorf("too large index: %q", item)
		}
		total += int32(last - first + 1)
		prev = last
	}
	return total, nil
}

func validatePodReplacementPolicy(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	if spec.PodReplacementPolicy == nil {
		return nil
	}
	p := *spec.PodReplacementPolicy
	if spec.PodFailurePolicy != nil {
		if p != batchv1.Failed {
			return field.ErrorList{field.NotSupported(fldPath, p, []string{string(batchv1.Failed)})}
		}
		return nil
	}
	if p != batchv1.Failed && p != batchv1.TerminatingOrFailed {
		return field.ErrorList{field.NotSupported(fldPath, p, []string{string(batchv1.Failed), string(batchv1.TerminatingOrFailed)})}
	}
	return nil
}
