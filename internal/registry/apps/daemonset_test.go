package apps

import (
	"context"
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// newDaemonSet is the ssd-monitor DaemonSet of the seed documents.
func newDaemonSet() *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "ssd-monitor", Namespace: "default", UID: "u", ResourceVersion: "1"},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "ssd-monitor"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "ssd-monitor"}},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{"disk": "ssd"},
					Containers:   []corev1.Container{{Name: "main", Image: "luksa/ssd-monitor"}},
				},
			},
		},
	}
}

func TestDaemonSetDefaults(t *testing.T) {
	ds := newDaemonSet()
	DaemonSetStrategy().PrepareForCreate(context.Background(), ds)
	want := appsv1.DaemonSetUpdateStrategy{
		Type:          appsv1.RollingUpdateDaemonSetStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr.To(intstr.FromInt32(1)), MaxSurge: ptr.To(intstr.FromInt32(0))},
	}
	if !reflect.DeepEqual(ds.Spec.UpdateStrategy, want) {
		t.Errorf("update strategy %+v, want %+v", ds.Spec.UpdateStrategy, want)
	}
	if *ds.Spec.RevisionHistoryLimit != 10 || ds.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		t.Errorf("revisionHistoryLimit %d restartPolicy %q", *ds.Spec.RevisionHistoryLimit, ds.Spec.Template.Spec.RestartPolicy)
	}
	if got := ds.Annotations[appsv1.DeprecatedTemplateGeneration]; got != "1" {
		t.Errorf("template generation annotation %q, want 1", got)
	}

	onDelete := newDaemonSet()
	onDelete.Spec.UpdateStrategy.Type = appsv1.OnDeleteDaemonSetStrategyType
	DaemonSetStrategy().PrepareForCreate(context.Background(), onDelete)
	if onDelete.Spec.UpdateStrategy.RollingUpdate != nil {
		t.Error("OnDelete got rolling update parameters")
	}
}

func TestDaemonSetValidation(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*appsv1.DaemonSet)
		want   []string
	}{
		{"seed manifest", func(*appsv1.DaemonSet) {}, nil},
		{"no selector", func(ds *appsv1.DaemonSet) { ds.Spec.Selector = nil },
			[]string{`spec.template.metadata.labels: Invalid value: {"app":"ssd-monitor"}: ` + "`selector` does not match template `labels`"}},
		{"empty selector", func(ds *appsv1.DaemonSet) { ds.Spec.Selector = &metav1.LabelSelector{} },
			[]string{"spec.selector: Invalid value: {}: empty selector is invalid for daemonset"}},
		{"selector does not match", func(ds *appsv1.DaemonSet) { ds.Spec.Template.Labels = map[string]string{"app": "other"} },
			[]string{`spec.template.metadata.labels: Invalid value: {"app":"other"}: ` + "`selector` does not match template `labels`"}},
		{"restart Never", func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever },
			[]string{`spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"`}},
		{"active deadline", func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.ActiveDeadlineSeconds = ptr.To[int64](1) },
			[]string{"spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in DaemonSet is not Supported"}},
		{"surge and unavailable", func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr.To(intstr.FromInt32(1)), MaxSurge: ptr.To(intstr.FromString("10%"))}
		}, []string{`spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: "10%": may not be set when maxUnavailable is non-zero`}},
		{"neither surge nor unavailable", func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr.To(intstr.FromString("0%"))}
		}, []string{"spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0"}},
		{"surge above 100%", func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr.To(intstr.FromInt32(0)), MaxSurge: ptr.To(intstr.FromString("101%"))}
		}, []string{`spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: "101%": must not be greater than 100%`}},
		{"unknown strategy", func(ds *appsv1.DaemonSet) { ds.Spec.UpdateStrategy.Type = "Sometimes" },
			[]string{`spec.updateStrategy: Unsupported value: {"type":"Sometimes"}: supported values: "RollingUpdate", "OnDelete"`}},
		{"negative minReadySeconds", func(ds *appsv1.DaemonSet) { ds.Spec.MinReadySeconds = -1 },
			[]string{"spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := newDaemonSet()
			tt.mutate(ds)
			s := DaemonSetStrategy()
			s.PrepareForCreate(context.Background(), ds)
			if got := errorStrings(s.Validate(context.Background(), ds)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors\n %q\nwant\n %q", got, tt.want)
			}
		})
	}
}

func TestDaemonSetUpdate(t *testing.T) {
	ctx := context.Background()
	s := DaemonSetStrategy()
	old := newDaemonSet()
	s.PrepareForCreate(ctx, old)
	old.Status = appsv1.DaemonSetStatus{DesiredNumberScheduled: 2}
	tests := []struct {
		name               string
		mutate             func(*appsv1.DaemonSet)
		generation         bool
		templateGeneration string
		want               []string
	}{
		{"new image", func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.Containers[0].Image = "luksa/ssd-monitor:2" }, true, "2", nil},
		{"history limit", func(ds *appsv1.DaemonSet) { ds.Spec.RevisionHistoryLimit = ptr.To[int32](3) }, true, "1", nil},
		{"annotation dropped by a PUT", func(ds *appsv1.DaemonSet) { ds.Annotations = nil }, false, "1", nil},
		{"client sets the annotation", func(ds *appsv1.DaemonSet) { ds.Annotations[appsv1.DeprecatedTemplateGeneration] = "9" }, false, "1", nil},
		{"selector", func(ds *appsv1.DaemonSet) {
			ds.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "ssd-monitor", "v": "2"}}
			ds.Spec.Template.Labels = map[string]string{"app": "ssd-monitor", "v": "2"}
		}, true, "2", []string{`spec.selector: Invalid value: {"matchLabels":{"app":"ssd-monitor","v":"2"}}: field is immutable`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := old.DeepCopy()
			ds.Status = appsv1.DaemonSetStatus{}
			tt.mutate(ds)
			s.PrepareForUpdate(ctx, ds, old)
			if got := errorStrings(s.ValidateUpdate(ctx, ds, old)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors %q, want %q", got, tt.want)
			}
			if got := s.SpecChanged(ds, old); got != tt.generation {
				t.Errorf("generation changes = %v, want %v", got, tt.generation)
			}
			if got := ds.Annotations[appsv1.DeprecatedTemplateGeneration]; got != tt.templateGeneration {
				t.Errorf("template generation %q, want %q", got, tt.templateGeneration)
			}
			if ds.Status.DesiredNumberScheduled != 2 {
				t.Error("a spec write changed the status")
			}
		})
	}
}

func TestDaemonSetStatus(t *testing.T) {
	ctx := context.Background()
	old := newDaemonSet()
	DaemonSetStrategy().PrepareForCreate(ctx, old)
	tests := []struct {
		name   string
		status appsv1.DaemonSetStatus
		want   []string
	}{
		{"scheduled", appsv1.DaemonSetStatus{DesiredNumberScheduled: 1, CurrentNumberScheduled: 1, NumberReady: 1, UpdatedNumberScheduled: 1, NumberAvailable: 1}, nil},
		{"negative", appsv1.DaemonSetStatus{NumberReady: -1, NumberUnavailable: -2}, []string{
			"status.numberReady: Invalid value: -1: must be greater than or equal to 0",
			"status.numberUnavailable: Invalid value: -2: must be greater than or equal to 0",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := old.DeepCopy()
			ds.Spec.MinReadySeconds = 9
			ds.Status = tt.status
			st := DaemonSetStatus()
			st.PrepareForUpdate(ctx, ds, old)
			if ds.Spec.MinReadySeconds != 0 {
				t.Error("a status write changed the spec")
			}
			if got := errorStrings(st.ValidateUpdate(ctx, ds, old)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDaemonSetTable(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	ds := newDaemonSet()
	ds.CreationTimestamp = metav1.NewTime(now.Add(-2 * time.Hour))
	ds.Status = appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, CurrentNumberScheduled: 2, NumberReady: 1, UpdatedNumberScheduled: 2, NumberAvailable: 1}
	table := DaemonSetTable{}
	got, err := table.Cells(ds, now)
	want := []interface{}{"ssd-monitor", int64(3), int64(2), int64(1), int64(2), int64(1), "disk=ssd", "120m", "main", "luksa/ssd-monitor", "app=ssd-monitor"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("cells %v (%v), want %v", got, err, want)
	}
	ds.Spec.Template.Spec.NodeSelector = nil
	if got, _ := table.Cells(ds, now); got[6] != "<none>" {
		t.Errorf("node selector cell %v, want <none>", got[6])
	}
	var names []string
	for _, c := range table.Columns() {
		if c.Priority == 0 {
			names = append(names, c.Name)
		}
	}
	if want := []string{"Name", "Desired", "Current", "Ready", "Up-to-date", "Available", "Node Selector", "Age"}; !reflect.DeepEqual(names, want) {
		t.Errorf("columns %v, want %v", names, want)
	}
}
