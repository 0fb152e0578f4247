package core

import (
	"context"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// newReplicationController is the kubia RC of the seed documents.
func newReplicationController() *corev1.ReplicationController {
	return &corev1.ReplicationController{
		ObjectMeta: meta("kubia", "default"),
		Spec: corev1.ReplicationControllerSpec{
			Replicas: ptr.To[int32](3),
			Selector: map[string]string{"app": "kubia"},
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "kubia"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "kubia", Image: "luksa/kubia", Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
				}}},
			},
		},
	}
}

func TestReplicationControllerDefaults(t *testing.T) {
	tests := []struct {
		name         string
		mutate       func(*corev1.ReplicationController)
		wantSelector map[string]string
		wantLabels   map[string]string
		wantReplicas int32
	}{
		{"seed manifest", func(*corev1.ReplicationController) {}, map[string]string{"app": "kubia"}, map[string]string{"app": "kubia"}, 3},
		{"selector and labels from the template", func(rc *corev1.ReplicationController) {
			rc.Spec.Selector = nil
			rc.Spec.Replicas = nil
		}, map[string]string{"app": "kubia"}, map[string]string{"app": "kubia"}, 1},
		{"own labels and selector kept", func(rc *corev1.ReplicationController) {
			rc.Labels = map[string]string{"team": "a"}
			rc.Spec.Template.Labels = map[string]string{"app": "kubia", "v": "1"}
		}, map[string]string{"app": "kubia"}, map[string]string{"team": "a"}, 3},
		{"no template", func(rc *corev1.ReplicationController) {
			rc.Spec.Template = nil
			rc.Spec.Selector = nil
		}, nil, nil, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReplicationController()
			tt.mutate(rc)
			ReplicationControllerStrategy().PrepareForCreate(context.Background(), rc)
			if !reflect.DeepEqual(rc.Spec.Selector, tt.wantSelector) || !reflect.DeepEqual(rc.Labels, tt.wantLabels) || *rc.Spec.Replicas != tt.wantReplicas {
				t.Errorf("selector %v labels %v replicas %d", rc.Spec.Selector, rc.Labels, *rc.Spec.Replicas)
			}
			if rc.Spec.Template != nil && rc.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
				t.Error("pod template not defaulted")
			}
		})
	}
	rc := newReplicationController()
	rc.Spec.Selector = nil
	ReplicationControllerStrategy().PrepareForCreate(context.Background(), rc)
	rc.Spec.Selector["x"] = "y"
	if _, shared := rc.Spec.Template.Labels["x"]; shared {
		t.Error("defaulted selector shares the template's label map")
	}
}

func TestReplicationControllerValidation(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*corev1.ReplicationController)
		want   []string
	}{
		{"seed manifest", func(*corev1.ReplicationController) {}, nil},
		{"selector does not match", func(rc *corev1.ReplicationController) { rc.Spec.Selector = map[string]string{"app": "other"} },
			[]string{`spec.template.metadata.labels: Invalid value: {"app":"kubia"}: ` + "`selector` does not match template `labels`"}},
		{"no selector and no template labels", func(rc *corev1.ReplicationController) {
			rc.Spec.Selector = nil
			rc.Spec.Template.Labels = nil
		}, []string{"spec.selector: Required value"}},
		{"no template", func(rc *corev1.ReplicationController) { rc.Spec.Template = nil },
			[]string{"spec.template: Required value"}},
		{"negative replicas", func(rc *corev1.ReplicationController) { rc.Spec.Replicas = ptr.To[int32](-1) },
			[]string{"spec.replicas: Invalid value: -1: must be greater than or equal to 0"}},
		{"restart OnFailure", func(rc *corev1.ReplicationController) {
			rc.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
		},
			[]string{`spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"`}},
		{"active deadline", func(rc *corev1.ReplicationController) { rc.Spec.Template.Spec.ActiveDeadlineSeconds = ptr.To[int64](3) },
			[]string{"spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicationController is not Supported"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReplicationController()
			tt.mutate(rc)
			if got := createErrors(ReplicationControllerStrategy(), rc); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReplicationControllerUpdateAndStatus(t *testing.T) {
	ctx := context.Background()
	s := ReplicationControllerStrategy()
	old := newReplicationController()
	old.ResourceVersion = "1"
	s.PrepareForCreate(ctx, old)
	old.Status = corev1.ReplicationControllerStatus{Replicas: 3, ReadyReplicas: 2}

	moved := old.DeepCopy()
	moved.Status = corev1.ReplicationControllerStatus{}
	moved.Spec.Selector = map[string]string{"app": "kubia", "v": "2"}
	moved.Spec.Template.Labels = map[string]string{"app": "kubia", "v": "2"}
	s.PrepareForUpdate(ctx, moved, old)
	if errs := s.ValidateUpdate(ctx, moved, old); len(errs) != 0 {
		t.Errorf("an RC's selector may change: %v", errs)
	}
	if !s.SpecChanged(moved, old) || moved.Status.Replicas != 3 {
		t.Errorf("spec changed %v, status %+v", s.SpecChanged(moved, old), moved.Status)
	}
	if _, fields, _ := s.AttrsFunc(moved); fields["status.replicas"] != "3" {
		t.Errorf("fields %v", fields)
	}

	tests := []struct {
		name   string
		status corev1.ReplicationControllerStatus
		want   []string
	}{
		{"ready", corev1.ReplicationControllerStatus{Replicas: 3, FullyLabeledReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3}, nil},
		{"more ready than replicas", corev1.ReplicationControllerStatus{Replicas: 1, ReadyReplicas: 2, AvailableReplicas: 1}, []string{
			"status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas",
		}},
		{"negative", corev1.ReplicationControllerStatus{ObservedGeneration: -1}, []string{
			"status.observedGeneration: Invalid value: -1: must be greater than or equal to 0",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := old.DeepCopy()
			rc.Spec.Replicas = ptr.To[int32](9)
			rc.Status = tt.status
			st := ReplicationControllerStatus()
			st.PrepareForUpdate(ctx, rc, old)
			if *rc.Spec.Replicas != 3 {
				t.Error("a status write changed the spec")
			}
			if got := errorStrings(st.ValidateUpdate(ctx, rc, old)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReplicationControllerTableAndScale(t *testing.T) {
	rc := newReplicationController()
	ReplicationControllerStrategy().PrepareForCreate(context.Background(), rc)
	rc.Status = corev1.ReplicationControllerStatus{Replicas: 3, ReadyReplicas: 1}
	got, err := ReplicationControllerTable{}.Cells(rc, now)
	want := []interface{}{"kubia", int64(3), int64(3), int64(1), "5s", "kubia", "luksa/kubia", "app=kubia"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("cells %v (%v), want %v", got, err, want)
	}
	if n := len(ReplicationControllerTable{}.Columns()); n != len(want) {
		t.Errorf("%d columns", n)
	}

	scale := ReplicationControllerScale()
	scale.SetReplicas(rc, 0)
	if scale.Replicas(rc) != 0 || scale.StatusReplicas(rc) != 3 || scale.Selector(rc) != "app=kubia" {
		t.Errorf("scale: replicas %d status %d selector %q", scale.Replicas(rc), scale.StatusReplicas(rc), scale.Selector(rc))
	}
}
