// Package cronjob holds the rules of batch/v1 CronJobs: defaults, validation of the
// schedule (robfig/cron standard syntax, as Kubernetes parses it), the time zone and the
// job template, the status subresource and kubectl's cronjob table.
package cronjob

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/kjet-dev/kjet/internal/registry"
	"github.com/kjet-dev/kjet/internal/registry/job"
	"github.com/kjet-dev/kjet/internal/registry/pod"
)

// Defaults of a CronJob spec.
const (
	DefaultSuccessfulJobsHistoryLimit int32 = 3
	DefaultFailedJobsHistoryLimit     int32 = 1
	// MaxNameLength leaves room for the 11-character "-<minutes>" suffix of Job names.
	MaxNameLength = 52
)

// validTimeZonePart is what each "/"-separated part of a time zone name must match.
var validTimeZonePart = regexp.MustCompile(`^[A-Za-z\.\-_0-9+]{1,14}$`)

// Strategy is the create/update rule set of CronJobs.
type Strategy struct{}

var _ registry.Strategy = Strategy{}

// StatusStrategy is the rule set of cronjobs/status.
type StatusStrategy struct{}

var _ registry.StatusStrategy = StatusStrategy{}

func asCronJob(obj runtime.Object) *batchv1.CronJob {
	cj, ok := obj.(*batchv1.CronJob)
	if !ok {
		panic(fmt.Sprintf("cronjob strategy: unexpected object %T", obj))
	}
	return cj
}

// SetDefaults applies Kubernetes' CronJob defaults: concurrencyPolicy Allow, suspend
// false, history limits 3 and 1, and the pod template defaults inside the job template
// (the Job-level defaults apply when the controller creates a Job, as in Kubernetes).
func SetDefaults(cj *batchv1.CronJob) {
	spec := &cj.Spec
	if spec.ConcurrencyPolicy == "" {
		spec.ConcurrencyPolicy = batchv1.AllowConcurrent
	}
	if spec.Suspend == nil {
		spec.Suspend = ptr.To(false)
	}
	if spec.SuccessfulJobsHistoryLimit == nil {
		spec.SuccessfulJobsHistoryLimit = ptr.To(DefaultSuccessfulJobsHistoryLimit)
	}
	if spec.FailedJobsHistoryLimit == nil {
		spec.FailedJobsHistoryLimit = ptr.To(DefaultFailedJobsHistoryLimit)
	}
	pod.SetDefaultsPodSpec(&spec.JobTemplate.Spec.Template.Spec)
}

// PrepareForCreate clears status and applies defaults.
func (Strategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	cj := asCronJob(obj)
	cj.Status = batchv1.CronJobStatus{}
	SetDefaults(cj)
}

// Validate checks a new CronJob, including the 52-character name limit.
func (Strategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	cj := asCronJob(obj)
	errs := registry.ValidateObjectMeta(&cj.ObjectMeta, true, apivalidation.NameIsDNSSubdomain)
	errs = append(errs, validateSpec(&cj.Spec, nil, field.NewPath("spec"))...)
	if len(cj.Name) > MaxNameLength {
		errs = append(errs, field.Invalid(registry.MetadataPath.Child("name"), cj.Name, fmt.Sprintf("must be no more than %d characters", MaxNameLength)))
	}
	return errs
}

// PrepareForUpdate keeps the stored status and applies defaults.
func (Strategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	cj := asCronJob(obj)
	cj.Status = asCronJob(old).Status
	SetDefaults(cj)
}

// ValidateUpdate checks an update; every spec field is mutable, an old schedule with TZ
// may keep it, and the name limit is not applied (old long names stay updatable).
func (Strategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	cj, oldCJ := asCronJob(obj), asCronJob(old)
	errs := registry.ValidateObjectMetaUpdate(&cj.ObjectMeta, &oldCJ.ObjectMeta)
	return append(errs, validateSpec(&cj.Spec, &oldCJ.Spec, field.NewPath("spec"))...)
}

// SpecChanged reports a spec change.
func (Strategy) SpecChanged(obj, old runtime.Object) bool {
	return !equality.Semantic.DeepEqual(asCronJob(obj).Spec, asCronJob(old).Spec)
}

// WarningsOnCreate implements registry.Strategy.
func (Strategy) WarningsOnCreate(context.Context, runtime.Object) []string { return nil }

// AttrsFunc returns the labels and metadata.name/metadata.namespace.
func (Strategy) AttrsFunc(obj runtime.Object) (labels.Set, fields.Set, error) {
	cj, ok := obj.(*batchv1.CronJob)
	if !ok {
		return nil, nil, fmt.Errorf("cronjob attrs: unexpected object %T", obj)
	}
	return labels.Set(cj.Labels), registry.ObjectMetaFieldsSet(&cj.ObjectMeta, true), nil
}

// PrepareForUpdate keeps the stored spec and metadata; only status changes.
func (StatusStrategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	cj, oldCJ := asCronJob(obj), asCronJob(old)
	cj.Spec = oldCJ.Spec
	metav1.ResetObjectMetaForStatus(&cj.ObjectMeta, &oldCJ.ObjectMeta)
}

// ValidateUpdate checks a status write's metadata.
func (StatusStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return registry.ValidateObjectMetaUpdate(&asCronJob(obj).ObjectMeta, &asCronJob(old).ObjectMeta)
}

func validateSpec(spec, oldSpec *batchv1.CronJobSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.Schedule == "" {
		errs = append(errs, field.Required(fldPath.Child("schedule"), ""))
	} else {
		allowTZ := oldSpec != nil && strings.Contains(oldSpec.Schedule, "TZ")
		errs = append(errs, ValidateSchedule(spec.Schedule, allowTZ, spec.TimeZone, fldPath.Child("schedule"))...)
	}
	if spec.StartingDeadlineSeconds != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(*spec.StartingDeadlineSeconds, fldPath.Child("startingDeadlineSeconds"))...)
	}
	if oldSpec == nil || !ptr.Equal(oldSpec.TimeZone, spec.TimeZone) {
		errs = append(errs, ValidateTimeZone(spec.TimeZone, fldPath.Child("timeZone"))...)
	}
	switch spec.ConcurrencyPolicy {
	case batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent:
	case "":
		errs = append(errs, field.Required(fldPath.Child("concurrencyPolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("concurrencyPolicy"), spec.ConcurrencyPolicy,
			[]string{string(batchv1.AllowConcurrent), string(batchv1.ForbidConcurrent), string(batchv1.ReplaceConcurrent)}))
	}
	errs = append(errs, validateJobTemplate(&spec.JobTemplate, fldPath.Child("jobTemplate"))...)
	if spec.SuccessfulJobsHistoryLimit != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*spec.SuccessfulJobsHistoryLimit), fldPath.Child("successfulJobsHistoryLimit"))...)
	}
	if spec.FailedJobsHistoryLimit != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*spec.FailedJobsHistoryLimit), fldPath.Child("failedJobsHistoryLimit"))...)
	}
	return errs
}

// validateJobTemplate applies the Job rules to the template; the selector is always
// generated for the Jobs, so the template may set neither selector nor manualSelector.
func validateJobTemplate(t *batchv1.JobTemplateSpec, fldPath *field.Path) field.ErrorList {
	errs := metav1validation.ValidateLabels(t.Labels, fldPath.Child("metadata", "labels"))
	errs = append(errs, apivalidation.ValidateAnnotations(t.Annotations, fldPath.Child("metadata", "annotations"))...)
	specPath := fldPath.Child("spec")
	errs = append(errs, job.ValidateJobSpecFields(&t.Spec, specPath)...)
	if t.Spec.Selector != nil {
		errs = append(errs, field.Invalid(specPath.Child("selector"), t.Spec.Selector, "`selector` will be auto-generated"))
	}
	if t.Spec.ManualSelector != nil && *t.Spec.ManualSelector {
		errs = append(errs, field.NotSupported(specPath.Child("manualSelector"), t.Spec.ManualSelector, []string{"nil", "false"}))
	}
	return errs
}

// ValidateSchedule parses a schedule with the standard cron parser (5 fields or a
// descriptor such as @hourly or @every 5m) and rejects TZ/CRON_TZ prefixes unless
// allowTZ (an old schedule already had one), and then only without timeZone.
func ValidateSchedule(schedule string, allowTZ bool, timeZone *string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if _, err := cron.ParseStandard(schedule); err != nil {
		errs = append(errs, field.Invalid(fldPath, schedule, err.Error()))
	}
	switch {
	case allowTZ && strings.Contains(schedule, "TZ") && timeZone != nil:
		errs = append(errs, field.Invalid(fldPath, schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule"))
	case !allowTZ && strings.Contains(schedule, "TZ"):
		errs = append(errs, field.Invalid(fldPath, schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
	}
	return errs
}

// ValidateTimeZone checks an optional IANA time zone name.
func ValidateTimeZone(timeZone *string, fldPath *field.Path) field.ErrorList {
	if timeZone == nil {
		return nil
	}
	tz := *timeZone
	if tz == "" {
		return field.ErrorList{field.Invalid(fldPath, tz, "timeZone must be nil or non-empty string")}
	}
	for _, part := range strings.Split(tz, "/") {
		if part == "." || part == ".." || strings.HasPrefix(part, "-") || !validTimeZonePart.MatchString(part) {
			return field.ErrorList{field.Invalid(fldPath, tz, "unknown time zone "+tz)}
		}
	}
	var errs field.ErrorList
	if strings.EqualFold(tz, "Local") {
		errs = append(errs, field.Invalid(fldPath, tz, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"))
	}
	if _, err := time.LoadLocation(tz); err != nil {
		errs = append(errs, field.Invalid(fldPath, tz, err.Error()))
	}
	return errs
}
