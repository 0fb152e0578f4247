package cronjob

import (
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kjet-dev/kjet/internal/registry"
	"github.com/kjet-dev/kjet/internal/registry/printers"
)

// Table renders CronJobs as kubectl get shows them.
type Table struct{}

var _ registry.TableConvertor = Table{}

// Columns implements registry.TableConvertor.
func (Table) Columns() []metav1.TableColumnDefinition {
	return append([]metav1.TableColumnDefinition{
		printers.NameColumn(),
		printers.Column("Schedule", "string", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.", 0),
		printers.Column("Timezone", "string", "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones.", 0),
		printers.Column("Suspend", "boolean", "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.", 0),
		printers.Column("Active", "integer", "A list of pointers to currently running jobs.", 0),
		printers.Column("Last Schedule", "string", "Information when was the last time the job was successfully scheduled.", 0),
		printers.AgeColumn(),
	}, printers.TemplateColumns("A label query over pods that should match the pod count.")...)
}

// Cells implements registry.TableConvertor.
func (Table) Cells(obj runtime.Object, now time.Time) ([]interface{}, error) {
	cj, ok := obj.(*batchv1.CronJob)
	if !ok {
		return nil, fmt.Errorf("cronjob table: unexpected object %T", obj)
	}
	timeZone := printers.None
	if cj.Spec.TimeZone != nil {
		timeZone = *cj.Spec.TimeZone
	}
	suspend := "<unset>"
	if cj.Spec.Suspend != nil {
		suspend = "False"
		if *cj.Spec.Suspend {
			suspend = "True"
		}
	}
	tmpl := &cj.Spec.JobTemplate.Spec
	names, images := printers.ContainersAndImages(tmpl.Template.Spec.Containers)
	return []interface{}{
		cj.Name,
		cj.Spec.Schedule,
		timeZone,
		suspend,
		int64(len(cj.Status.Active)),
		printers.SinceOrNone(cj.Status.LastScheduleTime, now),
		printers.Since(cj.CreationTimestamp, now),
		names,
		images,
		printers.Selector(tmpl.Selector),
	}, nil
}
