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

// newDeployment is what `kubectl create deployment web --image=nginx:1.27` sends.
func newDeployment() *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "u", ResourceVersion: "1", Labels: map[string]string{"app": "web"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.27"}}},
			},
		},
	}
}

func TestDeploymentDefaults(t *testing.T) {
	d := newDeployment()
	d.Spec.Replicas = nil
	DeploymentStrategy().PrepareForCreate(context.Background(), d)
	want := appsv1.DeploymentStrategy{
		Type: appsv1.RollingUpdateDeploymentStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDeployment{
			MaxUnavailable: ptr.To(intstr.FromString("25%")), MaxSurge: ptr.To(intstr.FromString("25%")),
		},
	}
	if !reflect.DeepEqual(d.Spec.Strategy, want) {
		t.Errorf("strategy %+v, want %+v", d.Spec.Strategy, want)
	}
	if *d.Spec.Replicas != 1 || *d.Spec.RevisionHistoryLimit != 10 || *d.Spec.ProgressDeadlineSeconds != 600 {
		t.Errorf("replicas %d revisionHistoryLimit %d progressDeadlineSeconds %d", *d.Spec.Replicas, *d.Spec.RevisionHistoryLimit, *d.Spec.ProgressDeadlineSeconds)
	}
	if d.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways || d.Spec.Template.Spec.Containers[0].TerminationMessagePath == "" {
		t.Error("pod template not defaulted")
	}

	recreate := newDeployment()
	recreate.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType
	DeploymentStrategy().PrepareForCreate(context.Background(), recreate)
	if recreate.Spec.Strategy.RollingUpdate != nil {
		t.Error("Recreate got rolling update parameters")
	}
}

func TestDeploymentValidation(t *testing.T) {
	notMatching := `spec.template.metadata.labels: Invalid value: {"app":"web"}: ` + "`selector` does not match template `labels`"
	tests := []struct {
		name   string
		mutate func(*appsv1.Deployment)
		want   []string
	}{
		{"kubectl create deployment", func(*appsv1.Deployment) {}, nil},
		{"no selector", func(d *appsv1.Deployment) { d.Spec.Selector = nil }, []string{"spec.selector: Required value", notMatching}},
		{"empty selector", func(d *appsv1.Deployment) { d.Spec.Selector = &metav1.LabelSelector{} },
			[]string{"spec.selector: Invalid value: {}: empty selector is invalid for deployment"}},
		{"selector does not match", func(d *appsv1.Deployment) {
			d.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}
		}, []string{notMatching}},
		{"restart OnFailure", func(d *appsv1.Deployment) { d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure },
			[]string{`spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"`}},
		{"active deadline", func(d *appsv1.Deployment) { d.Spec.Template.Spec.ActiveDeadlineSeconds = ptr.To[int64](5) },
			[]string{"spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported"}},
		{"negative replicas", func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To[int32](-1) },
			[]string{"spec.replicas: Invalid value: -1: must be greater than or equal to 0"}},
		{"recreate with rolling update", func(d *appsv1.Deployment) {
			d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{}}
		}, []string{"spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"}},
		{"unknown strategy", func(d *appsv1.Deployment) { d.Spec.Strategy.Type = "BlueGreen" },
			[]string{`spec.strategy: Unsupported value: {"type":"BlueGreen"}: supported values: "Recreate", "RollingUpdate"`}},
		{"surge and unavailable both 0", func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxUnavailable: ptr.To(intstr.FromInt32(0)), MaxSurge: ptr.To(intstr.FromString("0%"))}
		}, []string{"spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0"}},
		{"unavailable above 100%", func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxUnavailable: ptr.To(intstr.FromString("120%"))}
		}, []string{`spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "120%": must not be greater than 100%`}},
		{"surge not a percentage", func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: ptr.To(intstr.FromString("two"))}
		}, []string{`spec.strategy.rollingUpdate.maxSurge: Invalid value: "two": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')`}},
		{"negative surge", func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: ptr.To(intstr.FromInt32(-1))}
		}, []string{"spec.strategy.rollingUpdate.maxSurge: Invalid value: -1: must be greater than or equal to 0"}},
		{"deadline not after minReadySeconds", func(d *appsv1.Deployment) {
			d.Spec.MinReadySeconds = 30
			d.Spec.ProgressDeadlineSeconds = ptr.To[int32](30)
		}, []string{"spec.progressDeadlineSeconds: Invalid value: 30: must be greater than minReadySeconds"}},
		{"negative revision history", func(d *appsv1.Deployment) { d.Spec.RevisionHistoryLimit = ptr.To[int32](-2) },
			[]string{"spec.revisionHistoryLimit: Invalid value: -2: must be greater than or equal to 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDeployment()
			tt.mutate(d)
			s := DeploymentStrategy()
			s.PrepareForCreate(context.Background(), d)
			if got := errorStrings(s.Validate(context.Background(), d)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors\n %q\nwant\n %q", got, tt.want)
			}
		})
	}
}

func TestDeploymentUpdate(t *testing.T) {
	ctx := context.Background()
	s := DeploymentStrategy()
	old := newDeployment()
	s.PrepareForCreate(ctx, old)
	old.Status = appsv1.DeploymentStatus{Replicas: 1, ReadyReplicas: 1}
	tests := []struct {
		name       string
		mutate     func(*appsv1.Deployment)
		generation bool
		want       []string
	}{
		{"scale", func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To[int32](3) }, true, nil},
		{"new image", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "nginx:1.28" }, true, nil},
		{"annotation", func(d *appsv1.Deployment) { d.Annotations = map[string]string{"kubernetes.io/change-cause": "x"} }, true, nil},
		{"label", func(d *appsv1.Deployment) { d.Labels = map[string]string{"app": "web", "tier": "front"} }, false, nil},
		{"status is kept", func(d *appsv1.Deployment) { d.Status = appsv1.DeploymentStatus{} }, false, nil},
		{"selector", func(d *appsv1.Deployment) {
			d.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "v": "2"}}
			d.Spec.Template.Labels = map[string]string{"app": "web", "v": "2"}
		}, true, []string{`spec.selector: Invalid value: {"matchLabels":{"app":"web","v":"2"}}: field is immutable`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := old.DeepCopy()
			tt.mutate(d)
			s.PrepareForUpdate(ctx, d, old)
			if got := errorStrings(s.ValidateUpdate(ctx, d, old)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors %q, want %q", got, tt.want)
			}
			if got := s.SpecChanged(d, old); got != tt.generation {
				t.Errorf("generation changes = %v, want %v", got, tt.generation)
			}
			if d.Status.ReadyReplicas != 1 {
				t.Error("a spec write changed the status")
			}
		})
	}
}

func TestDeploymentStatus(t *testing.T) {
	ctx := context.Background()
	old := newDeployment()
	DeploymentStrategy().PrepareForCreate(ctx, old)
	old.Status.CollisionCount = ptr.To[int32](2)
	tests := []struct {
		name   string
		status appsv1.DeploymentStatus
		want   []string
	}{
		{"rolled out", appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3, CollisionCount: ptr.To[int32](2)}, nil},
		{"negative", appsv1.DeploymentStatus{UnavailableReplicas: -1, CollisionCount: ptr.To[int32](2)}, []string{
			"status.unavailableReplicas: Invalid value: -1: must be greater than or equal to 0",
		}},
		{"more available than ready", appsv1.DeploymentStatus{Replicas: 3, ReadyReplicas: 1, AvailableReplicas: 2, CollisionCount: ptr.To[int32](2)}, []string{
			"status.availableReplicas: Invalid value: 2: cannot be greater than readyReplicas",
		}},
		{"more updated than replicas", appsv1.DeploymentStatus{Replicas: 1, UpdatedReplicas: 2, CollisionCount: ptr.To[int32](2)}, []string{
			"status.updatedReplicas: Invalid value: 2: cannot be greater than status.replicas",
		}},
		{"collision count decremented", appsv1.DeploymentStatus{CollisionCount: ptr.To[int32](1)}, []string{
			"status.collisionCount: Invalid value: 1: cannot be decremented",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := old.DeepCopy()
			d.Spec.Replicas = ptr.To[int32](7)
			d.Status = tt.status
			st := DeploymentStatus()
			st.PrepareForUpdate(ctx, d, old)
			if *d.Spec.Replicas != 1 {
				t.Error("a status write changed the spec")
			}
			if got := errorStrings(st.ValidateUpdate(ctx, d, old)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDeploymentTableAndScale(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	d := newDeployment()
	d.CreationTimestamp = metav1.NewTime(now.Add(-90 * time.Second))
	d.Spec.Replicas = ptr.To[int32](3)
	d.Status = appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 2, ReadyReplicas: 1, AvailableReplicas: 1}
	table := DeploymentTable{}
	got, err := table.Cells(d, now)
	want := []interface{}{"web", "1/3", int64(2), int64(1), "90s", "nginx", "nginx:1.27", "app=web"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("cells %v (%v), want %v", got, err, want)
	}
	var names []string
	for _, c := range table.Columns() {
		if c.Priority == 0 {
			names = append(names, c.Name)
		}
	}
	if want := []string{"Name", "Ready", "Up-to-date", "Available", "Age"}; !reflect.DeepEqual(names, want) {
		t.Errorf("columns %v, want %v", names, want)
	}

	scale := DeploymentScale()
	scale.SetReplicas(d, 5)
	if scale.Replicas(d) != 5 || *d.Spec.Replicas != 5 || scale.StatusReplicas(d) != 3 || scale.Selector(d) != "app=web" {
		t.Errorf("scale: replicas %d status %d selector %q", scale.Replicas(d), scale.StatusReplicas(d), scale.Selector(d))
	}
	d.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"a", "b"}}}
	if got := scale.Selector(d); got != "app=web,tier in (a,b)" {
		t.Errorf("selector %q", got)
	}
}
