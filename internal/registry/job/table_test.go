package job

import (
	"reflect"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestTableCells(t *testing.T) {
	now := time.Date(2026, 11, 22, 8, 41, 22, 0, time.UTC)
	at := func(ago time.Duration) *metav1.Time { t := metav1.NewTime(now.Add(-ago)); return &t }
	cond := func(typ batchv1.JobConditionType) []batchv1.JobCondition {
		return []batchv1.JobCondition{{Type: typ, Status: corev1.ConditionTrue}}
	}
	tests := []struct {
		name        string
		completions *int32
		parallelism *int32
		status      batchv1.JobStatus
		deleting    bool
		want        []interface{}
	}{
		{"running fixed", ptr.To[int32](5), ptr.To[int32](3), batchv1.JobStatus{StartTime: at(4 * time.Second)},
			false, []interface{}{"fixed", "Running", "0/5", "4s", "4s"}},
		{"work queue", nil, ptr.To[int32](3), batchv1.JobStatus{Succeeded: 1, StartTime: at(4 * time.Second)},
			false, []interface{}{"fixed", "Running", "1/1 of 3", "4s", "4s"}},
		{"work queue of one", nil, ptr.To[int32](1), batchv1.JobStatus{}, false, []interface{}{"fixed", "Running", "0/1", "", "4s"}},
		{"complete", ptr.To[int32](1), ptr.To[int32](1), batchv1.JobStatus{Succeeded: 1, StartTime: at(4 * time.Second), CompletionTime: at(2 * time.Second), Conditions: cond(batchv1.JobComplete)},
			false, []interface{}{"fixed", "Complete", "1/1", "2s", "4s"}},
		{"failed keeps growing", ptr.To[int32](1), ptr.To[int32](1), batchv1.JobStatus{StartTime: at(4 * time.Second), Conditions: cond(batchv1.JobFailed)},
			false, []interface{}{"fixed", "Failed", "0/1", "4s", "4s"}},
		{"suspended", ptr.To[int32](1), ptr.To[int32](1), batchv1.JobStatus{Conditions: cond(batchv1.JobSuspended)},
			false, []interface{}{"fixed", "Suspended", "0/1", "", "4s"}},
		{"failure target", ptr.To[int32](1), ptr.To[int32](1), batchv1.JobStatus{Conditions: cond(batchv1.JobFailureTarget)},
			false, []interface{}{"fixed", "FailureTarget", "0/1", "", "4s"}},
		{"success criteria met before complete", ptr.To[int32](1), ptr.To[int32](1), batchv1.JobStatus{Conditions: cond(batchv1.JobSuccessCriteriaMet)},
			false, []interface{}{"fixed", "SuccessCriteriaMet", "0/1", "", "4s"}},
		{"terminating", ptr.To[int32](1), ptr.To[int32](1), batchv1.JobStatus{Conditions: cond(batchv1.JobSuspended)},
			true, []interface{}{"fixed", "Terminating", "0/1", "", "4s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: "fixed", CreationTimestamp: *at(4 * time.Second)},
				Spec: batchv1.JobSpec{
					Completions: tt.completions, Parallelism: tt.parallelism,
					Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": "e5b3"}},
					Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "worker", Image: "busybox"}}}},
				},
				Status: tt.status,
			}
			if tt.deleting {
				job.DeletionTimestamp = at(time.Second)
			}
			cells, err := Table{}.Cells(job, now)
			if err != nil {
				t.Fatal(err)
			}
			want := append(tt.want, "worker", "busybox", "batch.kubernetes.io/controller-uid=e5b3")
			if !reflect.DeepEqual(cells, want) {
				t.Errorf("cells = %q, want %q", cells, want)
			}
			if len(cells) != len(Table{}.Columns()) {
				t.Errorf("%d cells, %d columns", len(cells), len(Table{}.Columns()))
			}
		})
	}
}
