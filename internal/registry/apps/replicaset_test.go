package apps

import (
	"context"
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

func newReplicaSet() *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "u", ResourceVersion: "1"},
		Spec: appsv1.ReplicaSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}},
			},
		},
	}
}

func errorStrings(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

func TestReplicaSetValidation(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*appsv1.ReplicaSet)
		want   []string
	}{
		{"valid", func(*appsv1.ReplicaSet) {}, nil},
		{"no selector", func(rs *appsv1.ReplicaSet) { rs.Spec.Selector = nil }, []string{"spec.selector: Required value",
			`spec.template.metadata.labels: Invalid value: {"app":"web"}: ` + "`selector` does not match template `labels`"}},
		{"selector does not match", func(rs *appsv1.ReplicaSet) { rs.Spec.Template.Labels = map[string]string{"app": "db"} },
			[]string{`spec.template.metadata.labels: Invalid value: {"app":"db"}: ` + "`selector` does not match template `labels`"}},
		{"restart Never", func(rs *appsv1.ReplicaSet) { rs.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever },
			[]string{`spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"`}},
		{"negative replicas", func(rs *appsv1.ReplicaSet) { rs.Spec.Replicas = ptr.To[int32](-1) },
			[]string{"spec.replicas: Invalid value: -1: must be greater than or equal to 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := newReplicaSet()
			tt.mutate(rs)
			s := ReplicaSetStrategy()
			s.PrepareForCreate(context.Background(), rs)
			if got := errorStrings(s.Validate(context.Background(), rs)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReplicaSetUpdateAndStatus(t *testing.T) {
	s := ReplicaSetStrategy()
	old := newReplicaSet()
	s.PrepareForCreate(context.Background(), old)
	old.Status.Replicas = 2
	rs := old.DeepCopy()
	rs.Spec.Replicas = ptr.To[int32](3)
	rs.Status.Replicas = 0
	s.PrepareForUpdate(context.Background(), rs, old)
	if errs := s.ValidateUpdate(context.Background(), rs, old); len(errs) != 0 || rs.Status.Replicas != 2 {
		t.Fatalf("scale: errs %v status %d", errs, rs.Status.Replicas)
	}
	if !s.SpecChanged(rs, old) {
		t.Error("replicas change is a spec change")
	}
	moved := old.DeepCopy()
	moved.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "v": "2"}}
	moved.Spec.Template.Labels = map[string]string{"app": "web", "v": "2"}
	got := errorStrings(s.ValidateUpdate(context.Background(), moved, old))
	want := []string{`spec.selector: Invalid value: {"matchLabels":{"app":"web","v":"2"}}: field is immutable`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("selector change errors %q", got)
	}

	st := ReplicaSetStatus()
	next := old.DeepCopy()
	next.Spec.Replicas = ptr.To[int32](9)
	next.Status.ReadyReplicas = -1
	st.PrepareForUpdate(context.Background(), next, old)
	if *next.Spec.Replicas != 1 {
		t.Error("status write changed spec")
	}
	got = errorStrings(st.ValidateUpdate(context.Background(), next, old))
	want = []string{
		"status.readyReplicas: Invalid value: -1: must be greater than or equal to 0",
		"status.availableReplicas: Invalid value: 0: cannot be greater than readyReplicas",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("status errors %q", got)
	}
}

func TestReplicaSetTable(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	rs := newReplicaSet()
	rs.CreationTimestamp = metav1.NewTime(now.Add(-time.Minute))
	rs.Spec.Replicas = ptr.To[int32](3)
	rs.Status = appsv1.ReplicaSetStatus{Replicas: 2, ReadyReplicas: 1}
	got, err := ReplicaSetTable{}.Cells(rs, now)
	want := []interface{}{"web", int64(3), int64(2), int64(1), "60s", "web", "nginx:1.27", "app=web"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("cells %v (%v), want %v", got, err, want)
	}
}

func TestReplicaSetScale(t *testing.T) {
	rs := newReplicaSet()
	rs.Status.Replicas = 2
	scale := ReplicaSetScale()
	if scale.Replicas(rs) != 1 {
		t.Errorf("unset replicas scale to %d, want 1", scale.Replicas(rs))
	}
	scale.SetReplicas(rs, 4)
	if *rs.Spec.Replicas != 4 || scale.StatusReplicas(rs) != 2 || scale.Selector(rs) != "app=web" {
		t.Errorf("scale: replicas %d status %d selector %q", *rs.Spec.Replicas, scale.StatusReplicas(rs), scale.Selector(rs))
	}
}
