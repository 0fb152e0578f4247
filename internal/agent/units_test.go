package agent

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/kjet-dev/kjet/internal/runtime"
)

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "alpha", "B": "beta", "EMPTY": ""}
	lookup := func(n string) (string, bool) { v, ok := vars[n]; return v, ok }
	cases := []struct{ name, in, want string }{
		{"plain", "hello", "hello"},
		{"one", "$(A)", "alpha"},
		{"embedded", "x-$(A)-$(B)-y", "x-alpha-beta-y"},
		{"undefined stays", "$(C)", "$(C)"},
		{"escaped", "$$(A)", "$(A)"},
		{"double dollar", "$$", "$"},
		{"lone dollar", "cost $5", "cost $5"},
		{"trailing dollar", "x$", "x$"},
		{"unclosed", "$(A", "$(A"},
		{"empty value", "[$(EMPTY)]", "[]"},
		{"empty name", "$()", "$()"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := expand(tc.in, lookup); got != tc.want {
				t.Fatalf("expand(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestResolveEnv(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1",
			Labels:      map[string]string{"batch.kubernetes.io/job-completion-index": "3"},
			Annotations: map[string]string{"a": "b"}},
		Spec: corev1.PodSpec{NodeName: "n1", ServiceAccountName: "default"},
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: "ns"}, Data: map[string]string{"K": "v", "OTHER": "o"}}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns"}, Data: map[string][]byte{"pw": []byte("hunter2")}}
	client := fake.NewClientset(cm, sec)
	alloc := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("1Gi")}
	cases := []struct {
		name    string
		c       corev1.Container
		want    map[string]string
		wantErr string
	}{
		{name: "earlier entries only", c: corev1.Container{Env: []corev1.EnvVar{
			{Name: "X", Value: "$(Y)"}, {Name: "Y", Value: "y"}, {Name: "Z", Value: "$(Y)-$$(Y)"}}},
			want: map[string]string{"X": "$(Y)", "Y": "y", "Z": "y-$(Y)"}},
		{name: "field refs", c: corev1.Container{Env: []corev1.EnvVar{
			{Name: "JOB_COMPLETION_INDEX", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['batch.kubernetes.io/job-completion-index']"}}},
			{Name: "ANN", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations['a']"}}},
			{Name: "NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
			{Name: "IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
		}}, want: map[string]string{"JOB_COMPLETION_INDEX": "3", "ANN": "b", "NAME": "p", "NODE": "n1", "IP": "127.0.0.1"}},
		{name: "resource field ref defaults to node", c: corev1.Container{Name: "c", Env: []corev1.EnvVar{
			{Name: "CPU", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"}}},
			{Name: "MEM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
		}}, want: map[string]string{"CPU": "4", "MEM": "1024"}},
		{name: "config and secret refs", c: corev1.Container{Env: []corev1.EnvVar{
			{Name: "K", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Key: "K"}}},
			{Name: "PW", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "pw"}}},
			{Name: "OPT", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}, Key: "K", Optional: ptr.To(true)}}},
		}}, want: map[string]string{"K": "v", "PW": "hunter2"}},
		{name: "envFrom with prefix", c: corev1.Container{EnvFrom: []corev1.EnvFromSource{{Prefix: "CM_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}}},
			Env: []corev1.EnvVar{{Name: "X", Value: "$(CM_K)"}}},
			want: map[string]string{"CM_K": "v", "CM_OTHER": "o", "X": "v"}},
		{name: "missing configmap", c: corev1.Container{Env: []corev1.EnvVar{
			{Name: "K", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}, Key: "K"}}}}},
			wantErr: `configmap "nope" not found`},
		{name: "missing key", c: corev1.Container{Env: []corev1.EnvVar{
			{Name: "K", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Key: "zz"}}}}},
			wantErr: "couldn't find key zz in ConfigMap ns/cm"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vars, err := resolveEnv(context.Background(), newSourceReader(client, "ns"), pod, &tc.c, alloc)
			if tc.wantErr != "" {
				ce, ok := err.(*configError)
				if !ok || ce.msg != tc.wantErr {
					t.Fatalf("err = %v, want config error %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, v := range vars {
				got[v.name] = v.value
			}
			if len(got) != len(tc.want) {
				t.Fatalf("env = %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Fatalf("env[%s] = %q, want %q (all: %v)", k, got[k], v, got)
				}
			}
		})
	}
}

func TestCommandLine(t *testing.T) {
	c := &corev1.Container{Command: []string{"sh", "-c"}, Args: []string{"echo $(MSG) $$(MSG) $(NOPE)"}}
	got := commandLine(c, []envVar{{"MSG", "hi"}})
	want := []string{"sh", "-c", "echo hi $(MSG) $(NOPE)"}
	if len(got) != len(want) || got[2] != want[2] {
		t.Fatalf("argv = %q, want %q", got, want)
	}
}

func TestBackoff(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		exits []time.Duration // finishedAt offsets from t0
		want  []time.Duration
	}{
		{name: "first restart immediate then doubling", exits: []time.Duration{0, time.Second, 12 * time.Second, 40 * time.Second, 90 * time.Second},
			want: []time.Duration{0, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second}},
		{name: "capped at 300s", exits: []time.Duration{0, 1, 2, 3, 4, 5, 6, 7},
			want: []time.Duration{0, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 300 * time.Second, 300 * time.Second}},
		{name: "reset after ten quiet minutes", exits: []time.Duration{0, time.Second, 20 * time.Minute, 20*time.Minute + time.Second},
			want: []time.Duration{0, 10 * time.Second, 0, 10 * time.Second}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b restartBackoff
			for i, off := range tc.exits {
				if got := b.next(t0.Add(off)); got != tc.want[i] {
					t.Fatalf("restart %d: delay %v, want %v", i, got, tc.want[i])
				}
			}
		})
	}
	if got := crashLoopMessage(10*time.Second, "c", "p", "ns", "u"); got != "back-off 10s restarting failed container=c pod=p_ns(u)" {
		t.Fatalf("message = %q", got)
	}
}

func exited(code int) *containerRecord {
	return &containerRecord{cur: &runtime.ContainerStatus{ID: "x", State: runtime.StateExited, ExitCode: code}, decided: true, final: true}
}

func runningRec() *containerRecord {
	return &containerRecord{cur: &runtime.ContainerStatus{ID: "x", State: runtime.StateRunning}}
}

func TestPodPhase(t *testing.T) {
	twoContainers := func(policy corev1.RestartPolicy) *corev1.Pod {
		return &corev1.Pod{Spec: corev1.PodSpec{RestartPolicy: policy, Containers: []corev1.Container{{Name: "a"}, {Name: "b"}}}}
	}
	cases := []struct {
		name string
		pod  *corev1.Pod
		in   statusInput
		want corev1.PodPhase
	}{
		{name: "not initialized", pod: twoContainers(corev1.RestartPolicyNever), in: statusInput{recs: map[string]*containerRecord{}}, want: corev1.PodPending},
		{name: "waiting never ran", pod: twoContainers(corev1.RestartPolicyNever), in: statusInput{initialized: true,
			recs: map[string]*containerRecord{"a": runningRec(), "b": {}}}, want: corev1.PodPending},
		{name: "one running one failed never", pod: twoContainers(corev1.RestartPolicyNever), in: statusInput{initialized: true,
			recs: map[string]*containerRecord{"a": exited(1), "b": runningRec()}}, want: corev1.PodRunning},
		{name: "all zero never", pod: twoContainers(corev1.RestartPolicyNever), in: statusInput{initialized: true,
			recs: map[string]*containerRecord{"a": exited(0), "b": exited(0)}}, want: corev1.PodSucceeded},
		{name: "one failed never", pod: twoContainers(corev1.RestartPolicyNever), in: statusInput{initialized: true,
			recs: map[string]*containerRecord{"a": exited(1), "b": exited(0)}}, want: corev1.PodFailed},
		{name: "onfailure in back-off is running", pod: twoContainers(corev1.RestartPolicyOnFailure), in: statusInput{initialized: true,
			recs: map[string]*containerRecord{"a": exited(1), "b": exited(0)}}, want: corev1.PodRunning},
		{name: "onfailure all zero", pod: twoContainers(corev1.RestartPolicyOnFailure), in: statusInput{initialized: true,
			recs: map[string]*containerRecord{"a": exited(0), "b": exited(0)}}, want: corev1.PodSucceeded},
		{name: "always all exited", pod: twoContainers(corev1.RestartPolicyAlways), in: statusInput{initialized: true,
			recs: map[string]*containerRecord{"a": exited(0), "b": exited(0)}}, want: corev1.PodRunning},
		{name: "terminal fixed", pod: twoContainers(corev1.RestartPolicyAlways), in: statusInput{terminal: true, phase: corev1.PodFailed,
			recs: map[string]*containerRecord{"a": runningRec(), "b": runningRec()}}, want: corev1.PodFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := podPhase(tc.pod, tc.in); got != tc.want {
				t.Fatalf("phase = %s, want %s", got, tc.want)
			}
		})
	}
}

func conditionOf(st corev1.PodStatus, typ corev1.PodConditionType) corev1.PodCondition {
	for _, c := range st.Conditions {
		if c.Type == typ {
			return c
		}
	}
	return corev1.PodCondition{}
}

func TestBuildPodStatus(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u"},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyOnFailure, Containers: []corev1.Container{{Name: "a", Image: "busybox"}, {Name: "b"}}}}
	backingOff := exited(1)
	backingOff.final, backingOff.attempt, backingOff.restartAt, backingOff.backoffFor = false, 1, now.Add(10*time.Second), 10*time.Second
	cases := []struct {
		name  string
		in    statusInput
		check func(t *testing.T, st corev1.PodStatus)
	}{
		{name: "pending creating", in: statusInput{now: now, sandboxed: true, initialized: true, recs: map[string]*containerRecord{"a": {}, "b": {}}},
			check: func(t *testing.T, st corev1.PodStatus) {
				if st.Phase != corev1.PodPending || st.ContainerStatuses[0].State.Waiting.Reason != "ContainerCreating" {
					t.Fatalf("status %+v", st)
				}
				if c := conditionOf(st, corev1.PodReady); c.Status != corev1.ConditionFalse || c.Reason != "ContainersNotReady" || c.Message != "containers with unready status: [a b]" {
					t.Fatalf("Ready = %+v", c)
				}
				if c := conditionOf(st, corev1.PodScheduled); c.Status != corev1.ConditionTrue {
					t.Fatalf("PodScheduled = %+v", c)
				}
			}},
		{name: "running ready", in: statusInput{now: now, sandboxed: true, initialized: true, ready: map[string]bool{"a": true, "b": true},
			started: map[string]bool{"a": true, "b": true}, recs: map[string]*containerRecord{"a": runningRec(), "b": runningRec()}},
			check: func(t *testing.T, st corev1.PodStatus) {
				if st.Phase != corev1.PodRunning || conditionOf(st, corev1.PodReady).Status != corev1.ConditionTrue || !st.ContainerStatuses[0].Ready {
					t.Fatalf("status %+v", st)
				}
				if st.ContainerStatuses[0].ContainerID != "kjet://x" || !*st.ContainerStatuses[0].Started {
					t.Fatalf("container status %+v", st.ContainerStatuses[0])
				}
			}},
		{name: "crash loop", in: statusInput{now: now, sandboxed: true, initialized: true, recs: map[string]*containerRecord{"a": backingOff, "b": runningRec()}},
			check: func(t *testing.T, st corev1.PodStatus) {
				cs := st.ContainerStatuses[0]
				if cs.State.Waiting == nil || cs.State.Waiting.Reason != "CrashLoopBackOff" ||
					cs.State.Waiting.Message != "back-off 10s restarting failed container=a pod=p_ns(u)" ||
					cs.RestartCount != 1 || cs.LastTerminationState.Terminated == nil || cs.LastTerminationState.Terminated.Reason != "Error" {
					t.Fatalf("container status %+v", cs)
				}
			}},
		{name: "completed", in: statusInput{now: now, sandboxed: true, initialized: true, terminal: true, phase: corev1.PodSucceeded,
			recs: map[string]*containerRecord{"a": exited(0), "b": exited(0)}},
			check: func(t *testing.T, st corev1.PodStatus) {
				if st.Phase != corev1.PodSucceeded || st.ContainerStatuses[0].State.Terminated.Reason != "Completed" {
					t.Fatalf("status %+v", st)
				}
				for _, typ := range []corev1.PodConditionType{corev1.PodReady, corev1.ContainersReady} {
					if c := conditionOf(st, typ); c.Status != corev1.ConditionFalse || c.Reason != "PodCompleted" {
						t.Fatalf("%s = %+v", typ, c)
					}
				}
				if c := conditionOf(st, corev1.PodInitialized); c.Status != corev1.ConditionTrue {
					t.Fatalf("Initialized = %+v", c)
				}
			}},
		{name: "deadline exceeded", in: statusInput{now: now, sandboxed: true, initialized: true, terminal: true, phase: corev1.PodFailed,
			reason: "DeadlineExceeded", message: "Pod was active on the node longer than the specified deadline",
			recs: map[string]*containerRecord{"a": exited(137), "b": exited(137)}},
			check: func(t *testing.T, st corev1.PodStatus) {
				if st.Phase != corev1.PodFailed || st.Reason != "DeadlineExceeded" {
					t.Fatalf("status %+v", st)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, buildPodStatus(pod, tc.in))
		})
	}
}

// The agent compares the status it would write with the pod it reads back; a status with
// times finer than the API keeps would never match, and every write would cost a second,
// empty one when the agent sees its own update.
func TestBuiltStatusMatchesItsRoundTrip(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 7, 123456789, time.UTC)
	started := now.Add(-1500 * time.Millisecond)
	run := &containerRecord{cur: &runtime.ContainerStatus{ID: "x", State: runtime.StateRunning, StartedAt: started}}
	done := &containerRecord{cur: &runtime.ContainerStatus{ID: "x", State: runtime.StateExited, StartedAt: started, FinishedAt: now}, decided: true, final: true}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u"},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "a", Image: "busybox"}}}}
	cases := []struct {
		name string
		in   statusInput
	}{
		{name: "running", in: statusInput{now: now, startTime: started, sandboxed: true, initialized: true,
			ready: map[string]bool{"a": true}, started: map[string]bool{"a": true}, recs: map[string]*containerRecord{"a": run}}},
		{name: "succeeded", in: statusInput{now: now, startTime: started, sandboxed: true, initialized: true, terminal: true,
			phase: corev1.PodSucceeded, recs: map[string]*containerRecord{"a": done}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			written := pod.DeepCopy()
			written.Status = buildPodStatus(pod, tc.in)
			data, err := json.Marshal(written)
			if err != nil {
				t.Fatal(err)
			}
			var readBack corev1.Pod
			if err := json.Unmarshal(data, &readBack); err != nil {
				t.Fatal(err)
			}
			if again := buildPodStatus(&readBack, tc.in); !apiequality.Semantic.DeepEqual(readBack.Status, again) {
				t.Fatalf("status read back differs from the one rebuilt from it:\n%+v\n%+v", readBack.Status, again)
			}
		})
	}
}

func TestGPUAllocator(t *testing.T) {
	rt := newFakeRuntime(testingclock.NewFakeClock(time.Now()))
	g := newGPUAllocator([]int{0, 1})
	ctx := context.Background()
	if _, err := rt.Start(ctx, runtime.ContainerConfig{ID: "a"}); err != nil {
		t.Fatal(err)
	}
	got, err := g.allocate(ctx, rt, "a", 1)
	if err != nil || len(got) != 1 || got[0] != 0 {
		t.Fatalf("first allocation %v %v", got, err)
	}
	if _, err := g.allocate(ctx, rt, "b", 2); err == nil {
		t.Fatal("allocated a device held by a running container")
	}
	rt.exit("a", 0, false)
	if got, err := g.allocate(ctx, rt, "b", 2); err != nil || len(got) != 2 {
		t.Fatalf("after release %v %v", got, err)
	}
}

func TestPrepareVolumes(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", Labels: map[string]string{"b": "2", "a": "1"}},
		Spec: corev1.PodSpec{Volumes: []corev1.Volume{
			{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "cm"},
				Items:                []corev1.KeyToPath{{Key: "k", Path: "sub/file", Mode: ptr.To(int32(0o600))}}}}},
			{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}},
			{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
				{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
				{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}}},
			{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp"}}},
		}},
	}
	client := fake.NewClientset(
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: "ns"}, Data: map[string]string{"k": "v", "ignored": "x"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns"}, Data: map[string][]byte{"pw": []byte("hunter2")}})
	dir := t.TempDir()
	paths, err := prepareVolumes(context.Background(), newSourceReader(client, "ns"), pod, dir)
	if err != nil {
		t.Fatal(err)
	}
	files := []struct {
		name, path, content string
		mode                os.FileMode
	}{
		{"configmap item", filepath.Join(paths["cfg"], "sub/file"), "v", 0o600},
		{"secret key", filepath.Join(paths["sec"], "pw"), "hunter2", 0o644},
		{"labels", filepath.Join(paths["info"], "labels"), "a=\"1\"\nb=\"2\"", 0o644},
		{"name", filepath.Join(paths["info"], "name"), "p", 0o644},
	}
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			b, err := os.ReadFile(f.path)
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(f.path)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != f.content || fi.Mode().Perm() != f.mode {
				t.Fatalf("%s: %q mode %v, want %q mode %v", f.path, b, fi.Mode().Perm(), f.content, f.mode)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(paths["cfg"], "ignored")); !os.IsNotExist(err) {
		t.Fatal("configmap key outside items was written")
	}
	if paths["host"] != "/tmp" {
		t.Fatalf("hostPath volume at %s", paths["host"])
	}
	if fi, err := os.Stat(paths["scratch"]); err != nil || !fi.IsDir() {
		t.Fatalf("emptyDir: %v", err)
	}
	// A missing ConfigMap keeps the pod waiting.
	pod.Spec.Volumes[1].ConfigMap.Name = "nope"
	_, err = prepareVolumes(context.Background(), newSourceReader(client, "ns"), pod, t.TempDir())
	var ce *configError
	if !errors.As(err, &ce) {
		t.Fatalf("missing configmap: %v", err)
	}
}
