package job

import (
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/kjet-dev/kjet/internal/registry"
	"github.com/kjet-dev/kjet/internal/registry/printers"
)

// Table renders Jobs as kubectl get shows them.
type Table struct{}

var _ registry.TableConvertor = Table{}

// Columns implements registry.TableConvertor.
func (Table) Columns() []metav1.TableColumnDefinition {
	return append([]metav1.TableColumnDefinition{
		printers.NameColumn(),
		printers.Column("Status", "string", "Status of the job.", 0),
		printers.Column("Completions", "string", "The completed job pods out of the desired completions.", 0),
		printers.Column("Duration", "string", "Time required to complete the job.", 0),
		printers.AgeColumn(),
	}, printers.TemplateColumns("A label query over pods that should match the pod count.")...)
}

// Cells implements registry.TableConvertor.
func (Table) Cells(obj runtime.Object, now time.Time) ([]interface{}, error) {
	job, ok := obj.(*batchv1.Job)
	if !ok {
		return nil, fmt.Errorf("job table: unexpected object %T", obj)
	}
	var completions string
	switch {
	case job.Spec.Completions != nil:
		completions = fmt.Sprintf("%d/%d", job.Status.Succeeded, *job.Spec.Completions)
	case job.Spec.Parallelism != nil && *job.Spec.Parallelism > 1:
		completions = fmt.Sprintf("%d/1 of %d", job.Status.Succeeded, *job.Spec.Parallelism)
	default:
		completions = fmt.Sprintf("%d/1", job.Status.Succeeded)
	}
	var jobDuration string
	switch {
	case job.Status.StartTime == nil:
	case job.Status.CompletionTime == nil:
		jobDuration = duration.HumanDuration(now.Sub(job.Status.StartTime.Time))
	default:
		jobDuration = duration.HumanDuration(job.Status.CompletionTime.Sub(job.Status.StartTime.Time))
	}
	names, images := printers.ContainersAndImages(job.Spec.Template.Spec.Containers)
	return []interface{}{
		job.Name,
		Status(job),
		completions,
		jobDuration,
		printers.Since(job.CreationTimestamp, now),
		names,
		images,
		printers.Selector(job.Spec.Selector),
	}, nil
}

// Status is the STATUS column: Complete, Failed, Terminating, Suspended,
// FailureTarget, SuccessCriteriaMet, else Running (Kubernetes 1.34 prints
// SuccessCriteriaMet while a Job waits between the interim condition and
// Complete, as spec/k8s-observed/observed/08-ttl-watch.txt shows).
func Status(job *batchv1.Job) string {
	switch {
	case hasCondition(job, batchv1.JobComplete):
		return "Complete"
	case hasCondition(job, batchv1.JobFailed):
		return "Failed"
	case job.DeletionTimestamp != nil:
		return "Terminating"
	case hasCondition(job, batchv1.JobSuspended):
		return "Suspended"
	case hasCondition(job, batchv1.JobFailureTarget):
		return "FailureTarget"
	case hasCondition(job, batchv1.JobSuccessCriteriaMet):
		return "SuccessCriteriaMet"
	default:
		return "Running"
	}
}

func hasCondition(job *batchv1.Job, t batchv1.JobConditionType) bool {
	for _, c := range job.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
