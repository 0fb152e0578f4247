// Package job holds the rules of batch/v1 Jobs: defaults, the generated selector and
// labels, validation with Kubernetes' field paths and messages, what an update may
// change, the status subresource and kubectl's job table.
package job

import (
	"context"
	"fmt"
	"maps"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kjet-dev/kjet/internal/registry"
)

// DeleteWarning is the Warning Kubernetes sends when a Job is deleted without a
// propagation policy (and so orphans its pods).
const DeleteWarning = "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning"

// Strategy is the create/update rule set of Jobs.
type Strategy struct{}

var _ registry.Strategy = Strategy{}

// StatusStrategy is the rule set of jobs/status.
type StatusStrategy struct{}

var _ registry.StatusStrategy = StatusStrategy{}

func asJob(obj runtime.Object) *batchv1.Job {
	job, ok := obj.(*batchv1.Job)
	if !ok {
		panic(fmt.Sprintf("job strategy: unexpected object %T", obj))
	}
	return job
}

// PrepareForCreate clears status, applies defaults and, unless manualSelector is true,
// generates the selector and template labels from the Job's UID and name; a Job
// without labels gets its template's labels.
func (Strategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	job := asJob(obj)
	job.Status = batchv1.JobStatus{}
	SetDefaults(job)
	if !manualSelector(&job.Spec) {
		GenerateSelector(job)
	}
	if len(job.Labels) == 0 && len(job.Spec.Template.Labels) > 0 {
		job.Labels = maps.Clone(job.Spec.Template.Labels)
	}
}

// Validate checks a new Job.
func (Strategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return validateJob(asJob(obj), true)
}

// PrepareForUpdate keeps the stored status and applies defaults to the new spec.
func (Strategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	job, oldJob := asJob(obj), asJob(old)
	job.Status = oldJob.Status
	SetDefaults(job)
}

// ValidateUpdate checks the new Job on its own and against the stored one.
func (Strategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	job, oldJob := asJob(obj), asJob(old)
	_, oldHasBatchLabels := oldJob.Spec.Template.Labels[ControllerUIDLabel]
	errs := validateJob(job, oldHasBatchLabels)
	errs = append(errs, registry.ValidateObjectMetaUpdate(&job.ObjectMeta, &oldJob.ObjectMeta)...)
	return append(errs, validateJobSpecUpdate(job, oldJob)...)
}

// SpecChanged reports whether the spec changed (generation counts spec changes).
func (Strategy) SpecChanged(obj, old runtime.Object) bool {
	return !equality.Semantic.DeepEqual(asJob(obj).Spec, asJob(old).Spec)
}

// WarningsOnCreate warns about names that are not DNS labels (used in pod names and
// hostnames).
func (Strategy) WarningsOnCreate(_ context.Context, obj runtime.Object) []string {
	job := asJob(obj)
	if msgs := validation.IsDNS1123Label(job.Name); len(msgs) != 0 {
		return []string{fmt.Sprintf("metadata.name: this is used in Pod names and hostnames, which can result in surprising behavior; a DNS label is recommended: %v", msgs)}
	}
	return nil
}

// AttrsFunc returns the Job's labels and its selectable fields: metadata.name,
// metadata.namespace and status.successful.
func (Strategy) AttrsFunc(obj runtime.Object) (labels.Set, fields.Set, error) {
	job, ok := obj.(*batchv1.Job)
	if !ok {
		return nil, nil, fmt.Errorf("job attrs: unexpected object %T", obj)
	}
	set := registry.ObjectMetaFieldsSet(&job.ObjectMeta, true)
	set["status.successful"] = fmt.Sprint(job.Status.Succeeded)
	return labels.Set(job.Labels), set, nil
}

// PrepareForUpdate keeps the stored spec and metadata; only status changes.
func (StatusStrategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	job, oldJob := asJob(obj), asJob(old)
	job.Spec = oldJob.Spec
	metav1.ResetObjectMetaForStatus(&job.ObjectMeta, &oldJob.ObjectMeta)
}

// ValidateUpdate checks a status write.
func (StatusStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	job, oldJob := asJob(obj), asJob(old)
	errs := registry.ValidateObjectMetaUpdate(&job.ObjectMeta, &oldJob.ObjectMeta)
	return append(errs, validateJobStatus(&job.Status)...)
}
