package pod

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestTableCells(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	created := metav1.NewTime(now.Add(-4 * time.Second))
	running := func(name string, ready bool) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name, Ready: ready, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
	}
	exited := func(name string, code int32, reason string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason}}}
	}
	tests := []struct {
		name       string
		containers int
		status     corev1.PodStatus
		deleting   bool
		want       []interface{}
	}{
		{"running", 1, corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{running("c0", true)}},
			false, []interface{}{"p", "1/1", "Running", "0", "4s"}},
		{"completed", 1, corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{exited("c0", 0, "Completed")}},
			false, []interface{}{"p", "0/1", "Completed", "0", "4s"}},
		{"error", 1, corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{exited("c0", 1, "Error")}},
			false, []interface{}{"p", "0/1", "Error", "0", "4s"}},
		{"first container wins", 2, corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{exited("c0", 1, "Error"), exited("c1", 0, "Completed")}},
			false, []interface{}{"p", "0/2", "Error", "0", "4s"}},
		{"error with running sibling", 2, corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{exited("c0", 1, "Error"), running("c1", true)}},
			false, []interface{}{"p", "1/2", "Error", "0", "4s"}},
		{"no reason uses exit code", 1, corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{exited("c0", 3, "")}},
			false, []interface{}{"p", "0/1", "ExitCode:3", "0", "4s"}},
		{"crash loop", 1, corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
			Name: "c0", RestartCount: 3,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: metav1.NewTime(now.Add(-12 * time.Second))}},
		}}}, false, []interface{}{"p", "0/1", "CrashLoopBackOff", "3 (12s ago)", "4s"}},
		{"terminating", 1, corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{running("c0", true)}},
			true, []interface{}{"p", "1/1", "Terminating", "0", "4s"}},
		{"pending", 1, corev1.PodStatus{Phase: corev1.PodPending}, false, []interface{}{"p", "0/1", "Pending", "0", "4s"}},
		{"deadline", 1, corev1.PodStatus{Phase: corev1.PodFailed, Reason: "DeadlineExceeded"}, false, []interface{}{"p", "0/1", "DeadlineExceeded", "0", "4s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPod()
			p.CreationTimestamp = created
			p.Spec.Containers = nil
			for i := 0; i < tt.containers; i++ {
				p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "c" + string(rune('0'+i)), Image: "x"})
			}
			p.Status = tt.status
			if tt.deleting {
				p.DeletionTimestamp = &created
			}
			cells, err := Table{}.Cells(p, now)
			if err != nil {
				t.Fatal(err)
			}
			if len(cells) != len(Table{}.Columns()) {
				t.Fatalf("%d cells for %d columns", len(cells), len(Table{}.Columns()))
			}
			for i, want := range tt.want {
				if cells[i] != want {
					t.Errorf("cell %d = %v, want %v", i, cells[i], want)
				}
			}
			if cells[5] != "<none>" || cells[6] != "<none>" || cells[7] != "<none>" || cells[8] != "<none>" {
				t.Errorf("wide cells = %v", cells[5:])
			}
		})
	}
}
