package pod

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

func newPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", UID: "u1"},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
		},
	}
}

func errorStrings(errs field.ErrorList) []string {
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

func TestPrepareForCreateDefaults(t *testing.T) {
	p := newPod()
	p.Status.Phase = corev1.PodRunning
	Strategy{}.PrepareForCreate(context.Background(), p)
	s := p.Spec
	c := s.Containers[0]
	checks := []struct {
		name      string
		got, want interface{}
	}{
		{"restartPolicy", s.RestartPolicy, corev1.RestartPolicyAlways},
		{"dnsPolicy", s.DNSPolicy, corev1.DNSClusterFirst},
		{"schedulerName", s.SchedulerName, "default-scheduler"},
		{"terminationGracePeriodSeconds", *s.TerminationGracePeriodSeconds, int64(30)},
		{"securityContext", s.SecurityContext != nil, true},
		{"enableServiceLinks", *s.EnableServiceLinks, true},
		{"priority", *s.Priority, int32(0)},
		{"serviceAccountName", s.ServiceAccountName, "default"},
		{"tolerations", len(s.Tolerations), 2},
		{"imagePullPolicy", c.ImagePullPolicy, corev1.PullAlways},
		{"terminationMessagePath", c.TerminationMessagePath, "/dev/termination-log"},
		{"terminationMessagePolicy", c.TerminationMessagePolicy, corev1.TerminationMessageReadFile},
		{"phase", p.Status.Phase, corev1.PodPending},
		{"qosClass", p.Status.QOSClass, corev1.PodQOSBestEffort},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestDefaultImagePullPolicy(t *testing.T) {
	tests := []struct {
		image string
		want  corev1.PullPolicy
	}{
		{"busybox", corev1.PullAlways},
		{"busybox:latest", corev1.PullAlways},
		{"busybox:1.36", corev1.PullIfNotPresent},
		{"localhost:5000/busybox", corev1.PullAlways},
		{"localhost:5000/busybox:v1", corev1.PullIfNotPresent},
		{"busybox@sha256:abcd", corev1.PullIfNotPresent},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			if got := DefaultImagePullPolicy(tt.image); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *corev1.Pod)
		want   []string
	}{
		{"valid", func(*corev1.Pod) {}, nil},
		{"no containers", func(p *corev1.Pod) { p.Spec.Containers = nil }, []string{"spec.containers: Required value"}},
		{"no image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" }, []string{"spec.containers[0].image: Required value"}},
		{"duplicate container", func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "c", Image: "x"})
		}, []string{`spec.containers[1].name: Duplicate value: "c"`}},
		{"bad container name", func(p *corev1.Pod) { p.Spec.Containers[0].Name = "Bad_Name" }, []string{`spec.containers[0].name: Invalid value: "Bad_Name": a lowercase RFC 1123 label`}},
		{"bad restart policy", func(p *corev1.Pod) { p.Spec.RestartPolicy = "Sometimes" }, []string{`spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"`}},
		{"requests over limits", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
			}
		}, []string{`spec.containers[0].resources.requests[cpu]: Invalid value: "2": must be less than or equal to cpu limit of 1`}},
		{"mount of unknown volume", func(p *corev1.Pod) {
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		}, []string{`spec.containers[0].volumeMounts[0].name: Not found: "data"`}},
		{"volume with two sources", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: "/tmp"}, EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		}, []string{"spec.volumes[0].emptyDir: Forbidden: may not specify more than 1 volume type"}},
		{"duplicate volume", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "v"}, {Name: "v"}}
		}, []string{`spec.volumes[1].name: Duplicate value: "v"`}},
		{"bad env name", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A=B"}}
		}, []string{`spec.containers[0].env[0].name: Invalid value: "A=B"`}},
		{"bad port", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 70000}}
		}, []string{"spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive"}},
		{"bad activeDeadlineSeconds", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To(int64(0)) },
			[]string{"spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPod()
			tt.mutate(p)
			Strategy{}.PrepareForCreate(context.Background(), p)
			got := errorStrings(Strategy{}.Validate(context.Background(), p))
			if len(got) != len(tt.want) {
				t.Fatalf("errors = %q, want %q", got, tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("error %d = %q, want prefix %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *corev1.Pod)
		want   string
	}{
		{"image change allowed", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "busybox:2" }, ""},
		{"labels allowed", func(p *corev1.Pod) { p.Labels = map[string]string{"a": "b"} }, ""},
		{"bind to node allowed", func(p *corev1.Pod) { p.Spec.NodeName = "node-1" }, ""},
		{"add deadline allowed", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To(int64(5)) }, ""},
		{"add toleration allowed", func(p *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "k", Operator: corev1.TolerationOpExists})
		}, ""},
		{"command change forbidden", func(p *corev1.Pod) { p.Spec.Containers[0].Command = []string{"x"} },
			"spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`"},
		{"remove toleration forbidden", func(p *corev1.Pod) { p.Spec.Tolerations = p.Spec.Tolerations[:1] },
			"spec: Forbidden: pod updates may not change fields other than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := newPod()
			Strategy{}.PrepareForCreate(context.Background(), old)
			p := old.DeepCopy()
			tt.mutate(p)
			Strategy{}.PrepareForUpdate(context.Background(), p, old)
			got := errorStrings(Strategy{}.ValidateUpdate(context.Background(), p, old))
			if tt.want == "" {
				if len(got) != 0 {
					t.Fatalf("unexpected errors %q", got)
				}
				return
			}
			if len(got) != 1 || !strings.HasPrefix(got[0], tt.want) {
				t.Fatalf("errors = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDeadlineUpdate(t *testing.T) {
	tests := []struct {
		name     string
		old, new *int64
		want     string
	}{
		{"lower", ptr.To(int64(10)), ptr.To(int64(5)), ""},
		{"raise", ptr.To(int64(10)), ptr.To(int64(20)), "spec.activeDeadlineSeconds: Invalid value: 20: must be less than or equal to previous value"},
		{"remove", ptr.To(int64(10)), nil, "spec.activeDeadlineSeconds: Invalid value: null: must not update from a positive integer to nil value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := newPod()
			old.Spec.ActiveDeadlineSeconds = tt.old
			Strategy{}.PrepareForCreate(context.Background(), old)
			p := old.DeepCopy()
			p.Spec.ActiveDeadlineSeconds = tt.new
			got := errorStrings(Strategy{}.ValidateUpdate(context.Background(), p, old))
			if tt.want == "" && len(got) == 0 {
				return
			}
			if len(got) != 1 || got[0] != tt.want {
				t.Fatalf("errors = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestStatusStrategy(t *testing.T) {
	old := newPod()
	Strategy{}.PrepareForCreate(context.Background(), old)
	p := old.DeepCopy()
	p.Spec.Containers[0].Image = "changed"
	p.Labels = map[string]string{"x": "y"}
	p.Status.Phase = corev1.PodRunning
	StatusStrategy{}.PrepareForUpdate(context.Background(), p, old)
	if p.Spec.Containers[0].Image != "busybox" || p.Labels != nil || p.Status.Phase != corev1.PodRunning {
		t.Fatalf("status update kept wrong parts: image %q labels %v phase %s", p.Spec.Containers[0].Image, p.Labels, p.Status.Phase)
	}
	if errs := (StatusStrategy{}).ValidateUpdate(context.Background(), p, old); len(errs) != 0 {
		t.Fatalf("unexpected errors %v", errs)
	}
	terminal := p.DeepCopy()
	terminal.Status.Phase = corev1.PodFailed
	back := terminal.DeepCopy()
	back.Status.Phase = corev1.PodRunning
	if errs := (StatusStrategy{}).ValidateUpdate(context.Background(), back, terminal); len(errs) != 1 {
		t.Fatalf("terminal->running errors = %v, want one", errs)
	}
}

func TestGracePeriod(t *testing.T) {
	tests := []struct {
		name      string
		nodeName  string
		phase     corev1.PodPhase
		tgps      *int64
		requested *int64
		want      int64
	}{
		{"unscheduled", "", corev1.PodPending, nil, ptr.To(int64(10)), 0},
		{"terminal", "n", corev1.PodSucceeded, nil, nil, 0},
		{"requested", "n", corev1.PodRunning, ptr.To(int64(30)), ptr.To(int64(5)), 5},
		{"from spec", "n", corev1.PodRunning, ptr.To(int64(12)), nil, 12},
		{"default", "n", corev1.PodRunning, nil, nil, 30},
		{"negative spec", "n", corev1.PodRunning, ptr.To(int64(-1)), nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPod()
			p.Spec.NodeName = tt.nodeName
			p.Status.Phase = tt.phase
			p.Spec.TerminationGracePeriodSeconds = tt.tgps
			if got := GracePeriod(p, tt.requested); got != tt.want {
				t.Errorf("GracePeriod = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestAttrs(t *testing.T) {
	p := newPod()
	p.Spec.NodeName = "n1"
	p.Status.Phase = corev1.PodRunning
	_, f, err := Strategy{}.AttrsFunc(p)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"metadata.name": "p", "metadata.namespace": "default", "spec.nodeName": "n1", "status.phase": "Running"} {
		if f[k] != v {
			t.Errorf("%s = %q, want %q", k, f[k], v)
		}
	}
}
