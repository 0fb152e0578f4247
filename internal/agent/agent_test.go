package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	kjetruntime "github.com/kjet-dev/kjet/internal/runtime"
)

const testNode = "node-1"

type harness struct {
	t      *testing.T
	client *fake.Clientset
	rt     *fakeRuntime
	clock  *testingclock.FakeClock
	dir    string
	agent  *Agent
	// startedDelay is Options.StartedStatusDelay; the fake clock never lets a
	// positive one pass by itself, so tests disable it unless they test it.
	startedDelay time.Duration
	// sharedPods runs the agent on a pod informer of every pod, started before the
	// agent, as kjet server shares one between its components.
	sharedPods bool
	cancel     context.CancelFunc
	wg         sync.WaitGroup
}

func newHarness(t *testing.T, objs ...runtime.Object) *harness {
	clk := testingclock.NewFakeClock(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	h := &harness{t: t, client: fake.NewClientset(objs...), rt: newFakeRuntime(clk), clock: clk, dir: t.TempDir(), startedDelay: -1}
	t.Cleanup(h.stop)
	return h
}

func (h *harness) start() {
	h.t.Helper()
	opts := Options{NodeName: testNode, Client: h.client, Runtime: h.rt, PodsDir: h.dir, Clock: h.clock, StartedStatusDelay: h.startedDelay}
	ctx, cancel := context.WithCancel(context.Background())
	h.agent, h.cancel = nil, cancel
	if h.sharedPods {
		factory := informers.NewSharedInformerFactory(h.client, 0)
		opts.Pods = factory.Core().V1().Pods().Informer()
		factory.Start(ctx.Done())
		h.wg.Add(1)
		go func() { defer h.wg.Done(); <-ctx.Done(); factory.Shutdown() }()
	}
	a, err := New(opts)
	if err != nil {
		cancel()
		h.t.Fatal(err)
	}
	h.agent = a
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		if err := a.Run(ctx); err != nil {
			h.t.Errorf("Run: %v", err)
		}
	}()
}

func (h *harness) stop() {
	if h.cancel != nil {
		h.cancel()
		h.wg.Wait()
		h.cancel = nil
	}
}

func newTestPod(name string, policy corev1.RestartPolicy, containers ...string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
		Spec:       corev1.PodSpec{NodeName: testNode, RestartPolicy: policy, TerminationGracePeriodSeconds: ptr.To(int64(30))},
		Status:     corev1.PodStatus{Phase: corev1.PodPending},
	}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c, Image: "busybox", Command: []string{"sh", "-c", "true"}})
	}
	return p
}

func (h *harness) create(pod *corev1.Pod) {
	h.t.Helper()
	if _, err := h.client.CoreV1().Pods(pod.Namespace).Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) get(name string) *corev1.Pod {
	h.t.Helper()
	p, err := h.client.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	return p
}

func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) waitPod(name, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	h.t.Helper()
	var last *corev1.Pod
	deadline := time.Now().Add(10 * time.Second)
	for {
		last = h.get(name)
		if last != nil && cond(last) {
			return last
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for pod %s: %s; last status %+v", name, what, last)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) waitRunning(id string) {
	h.t.Helper()
	poll(h.t, "container "+id+" running", func() bool {
		st, ok := h.rt.state(id)
		return ok && st == kjetruntime.StateRunning
	})
}

func phaseIs(phase corev1.PodPhase) func(*corev1.Pod) bool {
	return func(p *corev1.Pod) bool { return p.Status.Phase == phase }
}

func TestNodeRegistrationAndLease(t *testing.T) {
	h := newHarness(t)
	h.start()
	poll(t, "lease", func() bool {
		_, err := h.client.CoordinationV1().Leases(NodeLeaseNamespace).Get(context.Background(), testNode, metav1.GetOptions{})
		return err == nil
	})
	node, err := h.client.CoreV1().Nodes().Get(context.Background(), testNode, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ready := false
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue && c.Reason == "KubeletReady" {
			ready = true
		}
	}
	if !ready || node.Status.NodeInfo.KubeletVersion != "v1.37.2" || !strings.HasPrefix(node.Status.NodeInfo.ContainerRuntimeVersion, "kjet-process://") {
		t.Fatalf("node status %+v", node.Status)
	}
	if q := node.Status.Allocatable[corev1.ResourcePods]; q.Value() != 110 {
		t.Fatalf("pods allocatable %v", q.String())
	}
	if _, ok := node.Status.Allocatable[resourceGPU]; !ok {
		t.Fatal("no nvidia.com/gpu in allocatable")
	}
}

func TestPodNeverSucceeds(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.create(newTestPod("ok", corev1.RestartPolicyNever, "c"))
	id := containerID("uid-ok", "c", 0)
	h.waitRunning(id)
	h.waitPod("ok", "running", phaseIs(corev1.PodRunning))
	h.rt.exit(id, 0, true)
	p := h.waitPod("ok", "succeeded", phaseIs(corev1.PodSucceeded))
	cs := p.Status.ContainerStatuses[0]
	if cs.State.Terminated == nil || cs.State.Terminated.Reason != "Completed" || cs.State.Terminated.ContainerID != "kjet://"+id {
		t.Fatalf("container status %+v", cs)
	}
	if c := conditionOf(p.Status, corev1.PodReady); c.Reason != "PodCompleted" {
		t.Fatalf("Ready condition %+v", c)
	}
	if p.Status.StartTime == nil || p.Status.PodIP != "127.0.0.1" {
		t.Fatalf("status %+v", p.Status)
	}
}

func TestPodNeverFails(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.create(newTestPod("bad", corev1.RestartPolicyNever, "c"))
	id := containerID("uid-bad", "c", 0)
	h.waitRunning(id)
	h.rt.exit(id, 1, true)
	p := h.waitPod("bad", "failed", phaseIs(corev1.PodFailed))
	if term := p.Status.ContainerStatuses[0].State.Terminated; term == nil || term.Reason != "Error" || term.ExitCode != 1 {
		t.Fatalf("container status %+v", p.Status.ContainerStatuses[0])
	}
	if h.rt.startCount(containerID("uid-bad", "c", 1)) != 0 {
		t.Fatal("a Never pod was restarted")
	}
}

func TestPodWithoutCommandFails(t *testing.T) {
	h := newHarness(t)
	h.start()
	pod := newTestPod("nocmd", corev1.RestartPolicyNever, "c")
	pod.Spec.Containers[0].Command = nil
	h.create(pod)
	p := h.waitPod("nocmd", "failed", phaseIs(corev1.PodFailed))
	term := p.Status.ContainerStatuses[0].State.Terminated
	if term == nil || term.Reason != "StartError" || term.Message != `kjet runs host processes: container "c" has no command` {
		t.Fatalf("container status %+v", p.Status.ContainerStatuses[0])
	}
}

func TestOnFailureCrashLoopBackOff(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.create(newTestPod("loop", corev1.RestartPolicyOnFailure, "c"))
	h.waitRunning(containerID("uid-loop", "c", 0))
	h.rt.exit(containerID("uid-loop", "c", 0), 1, true)
	// The first restart is immediate.
	h.waitRunning(containerID("uid-loop", "c", 1))
	h.rt.exit(containerID("uid-loop", "c", 1), 1, true)
	p := h.waitPod("loop", "CrashLoopBackOff", func(p *corev1.Pod) bool {
		cs := p.Status.ContainerStatuses
		return len(cs) == 1 && cs[0].State.Waiting != nil && cs[0].State.Waiting.Reason == "CrashLoopBackOff"
	})
	cs := p.Status.ContainerStatuses[0]
	if want := "back-off 10s restarting failed container=c pod=loop_default(uid-loop)"; cs.State.Waiting.Message != want {
		t.Fatalf("waiting message %q, want %q", cs.State.Waiting.Message, want)
	}
	if cs.RestartCount != 1 || p.Status.Phase != corev1.PodRunning || cs.LastTerminationState.Terminated == nil {
		t.Fatalf("status %+v", p.Status)
	}
	if h.rt.startCount(containerID("uid-loop", "c", 2)) != 0 {
		t.Fatal("restarted before the back-off passed")
	}
	h.clock.Step(10 * time.Second)
	h.waitRunning(containerID("uid-loop", "c", 2))
	p = h.waitPod("loop", "running again", func(p *corev1.Pod) bool {
		return p.Status.ContainerStatuses[0].State.Running != nil && p.Status.ContainerStatuses[0].RestartCount == 2
	})
	// Success ends an OnFailure pod.
	h.rt.exit(containerID("uid-loop", "c", 2), 0, true)
	h.waitPod("loop", "succeeded", phaseIs(corev1.PodSucceeded))
	_ = p
}

func TestGracefulDeletion(t *testing.T) {
	h := newHarness(t)
	var deleteOpts []metav1.DeleteOptions
	var mu sync.Mutex
	h.client.PrependReactor("delete", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		deleteOpts = append(deleteOpts, action.(k8stesting.DeleteActionImpl).DeleteOptions)
		mu.Unlock()
		return false, nil, nil
	})
	h.start()
	h.create(newTestPod("del", corev1.RestartPolicyNever, "c"))
	id := containerID("uid-del", "c", 0)
	h.waitRunning(id)
	h.waitPod("del", "running", phaseIs(corev1.PodRunning))

	// What the API server does on DELETE with grace 5.
	p := h.get("del")
	now := metav1.NewTime(h.clock.Now().Add(5 * time.Second))
	p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &now, ptr.To(int64(5))
	if _, err := h.client.CoreV1().Pods("default").Update(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "pod removed", func() bool { return h.get("del") == nil })
	if g, ok := h.rt.stopGrace(id); !ok || g != 5*time.Second {
		t.Fatalf("stop grace = %v (called %v), want 5s", g, ok)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(deleteOpts) != 1 || deleteOpts[0].GracePeriodSeconds == nil || *deleteOpts[0].GracePeriodSeconds != 0 ||
		deleteOpts[0].Preconditions == nil || *deleteOpts[0].Preconditions.UID != "uid-del" {
		t.Fatalf("delete options %+v", deleteOpts)
	}
	poll(t, "containers forgotten", func() bool { _, ok := h.rt.state(id); return !ok })
}

func TestFinalStatusBeforeDelete(t *testing.T) {
	h := newHarness(t)
	var final *corev1.Pod
	var mu sync.Mutex
	h.client.PrependReactor("delete", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		obj, err := h.client.Tracker().Get(corev1.SchemeGroupVersion.WithResource("pods"), "default", action.(k8stesting.DeleteActionImpl).Name)
		if err == nil {
			mu.Lock()
			final = obj.(*corev1.Pod)
			mu.Unlock()
		}
		return false, nil, nil
	})
	h.start()
	h.create(newTestPod("fin", corev1.RestartPolicyNever, "c"))
	h.waitRunning(containerID("uid-fin", "c", 0))
	p := h.waitPod("fin", "running", phaseIs(corev1.PodRunning))
	now := metav1.NewTime(h.clock.Now())
	p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &now, ptr.To(int64(30))
	if _, err := h.client.CoreV1().Pods("default").Update(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "pod removed", func() bool { return h.get("fin") == nil })
	mu.Lock()
	defer mu.Unlock()
	if final == nil || final.Status.Phase != corev1.PodFailed || final.Status.ContainerStatuses[0].State.Terminated.ExitCode != 143 {
		t.Fatalf("final status before delete: %+v", final)
	}
}

func TestRestartReattaches(t *testing.T) {
	h := newHarness(t)
	h.start()
	pod := newTestPod("survivor", corev1.RestartPolicyNever, "c")
	pod.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox", Command: []string{"true"}}}
	h.create(pod)
	h.waitRunning(containerID("uid-survivor", "init", 0))
	h.rt.exit(containerID("uid-survivor", "init", 0), 0, true)
	id := containerID("uid-survivor", "c", 0)
	h.waitRunning(id)
	h.waitPod("survivor", "running", phaseIs(corev1.PodRunning))

	// kjet goes down; the container keeps running, then exits while nobody watches.
	h.stop()
	h.rt.exit(id, 0, false)

	h.start()
	p := h.waitPod("survivor", "succeeded after restart", phaseIs(corev1.PodSucceeded))
	if n := h.rt.startCount(id); n != 1 {
		t.Fatalf("container started %d times", n)
	}
	if n := h.rt.startCount(containerID("uid-survivor", "init", 0)); n != 1 {
		t.Fatalf("init container started %d times", n)
	}
	if term := p.Status.ContainerStatuses[0].State.Terminated; term == nil || term.Reason != "Completed" {
		t.Fatalf("status %+v", p.Status)
	}
}

func TestRestartSeesRunningContainer(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.create(newTestPod("long", corev1.RestartPolicyNever, "c"))
	id := containerID("uid-long", "c", 0)
	h.waitRunning(id)
	h.waitPod("long", "running", phaseIs(corev1.PodRunning))
	h.stop()
	h.start()
	// The new agent learns of exits of the adopted container.
	poll(t, "agent has the pod", func() bool {
		h.agent.mu.Lock()
		defer h.agent.mu.Unlock()
		return h.agent.workers["uid-long"] != nil
	})
	h.rt.exit(id, 3, true)
	p := h.waitPod("long", "failed", phaseIs(corev1.PodFailed))
	if p.Status.ContainerStatuses[0].State.Terminated.ExitCode != 3 || h.rt.startCount(id) != 1 {
		t.Fatalf("status %+v", p.Status)
	}
}

func TestInitContainerFailureNever(t *testing.T) {
	h := newHarness(t)
	h.start()
	pod := newTestPod("initfail", corev1.RestartPolicyNever, "c")
	pod.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox", Command: []string{"false"}}}
	h.create(pod)
	h.waitRunning(containerID("uid-initfail", "init", 0))
	h.waitPod("initfail", "initializing", func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Waiting != nil &&
			p.Status.ContainerStatuses[0].State.Waiting.Reason == "PodInitializing"
	})
	h.rt.exit(containerID("uid-initfail", "init", 0), 1, true)
	h.waitPod("initfail", "failed", phaseIs(corev1.PodFailed))
	if h.rt.startCount(containerID("uid-initfail", "c", 0)) != 0 {
		t.Fatal("app container ran after its init container failed")
	}
}

func TestSidecarStoppedWhenMainFinishes(t *testing.T) {
	h := newHarness(t)
	h.start()
	pod := newTestPod("side", corev1.RestartPolicyNever, "main")
	pod.Spec.InitContainers = []corev1.Container{{Name: "proxy", Image: "busybox", Command: []string{"sleep", "inf"},
		RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)}}
	h.create(pod)
	h.waitRunning(containerID("uid-side", "proxy", 0))
	main := containerID("uid-side", "main", 0)
	h.waitRunning(main)
	h.rt.exit(main, 0, true)
	h.waitPod("side", "succeeded", phaseIs(corev1.PodSucceeded))
	if st, _ := h.rt.state(containerID("uid-side", "proxy", 0)); st != kjetruntime.StateExited {
		t.Fatalf("sidecar state %s", st)
	}
}

func TestActiveDeadline(t *testing.T) {
	h := newHarness(t)
	h.start()
	pod := newTestPod("slow", corev1.RestartPolicyNever, "c")
	pod.Spec.ActiveDeadlineSeconds = ptr.To(int64(30))
	h.create(pod)
	h.waitRunning(containerID("uid-slow", "c", 0))
	h.waitPod("slow", "running", phaseIs(corev1.PodRunning))
	poll(t, "deadline timer", func() bool { return h.clock.HasWaiters() })
	h.clock.Step(31 * time.Second)
	p := h.waitPod("slow", "deadline exceeded", phaseIs(corev1.PodFailed))
	if p.Status.Reason != "DeadlineExceeded" || p.Status.Message != "Pod was active on the node longer than the specified deadline" {
		t.Fatalf("status %+v", p.Status)
	}
}

func TestMissingConfigMapWaits(t *testing.T) {
	h := newHarness(t)
	h.start()
	pod := newTestPod("cfg", corev1.RestartPolicyNever, "c")
	pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "K", ValueFrom: &corev1.EnvVarSource{
		ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "later"}, Key: "k"}}}}
	h.create(pod)
	h.waitPod("cfg", "config error", func(p *corev1.Pod) bool {
		cs := p.Status.ContainerStatuses
		return len(cs) == 1 && cs[0].State.Waiting != nil && cs[0].State.Waiting.Reason == "CreateContainerConfigError" &&
			cs[0].State.Waiting.Message == `configmap "later" not found`
	})
	if _, err := h.client.CoreV1().ConfigMaps("default").Create(context.Background(),
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "later", Namespace: "default"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.clock.Step(10 * time.Second)
	h.waitRunning(containerID("uid-cfg", "c", 0))
}

func TestServeLog(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.create(newTestPod("logs", corev1.RestartPolicyOnFailure, "c"))
	h.waitRunning(containerID("uid-logs", "c", 0))
	h.rt.exit(containerID("uid-logs", "c", 0), 1, true)
	h.waitRunning(containerID("uid-logs", "c", 1))
	p := h.waitPod("logs", "restarted", func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].RestartCount == 1 && p.Status.ContainerStatuses[0].State.Running != nil
	})
	cases := []struct {
		name, query string
		code        int
		body        string
	}{
		{name: "current", query: "", code: 200, body: "attempt 1 of c\n"},
		{name: "previous", query: "previous=true", code: 200, body: "attempt 0 of c\n"},
		{name: "unknown container", query: "container=zz", code: 400, body: "container zz is not valid for pod logs"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/api/v1/namespaces/default/pods/logs/log?"+tc.query, nil)
			h.agent.ServePodSubresource(rec, req, p, "log")
			if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.body) {
				t.Fatalf("got %d %q, want %d containing %q", rec.Code, rec.Body.String(), tc.code, tc.body)
			}
		})
	}

	// A log where an older kjet wrote it (logs/<container>/<attempt>.log) is still served.
	if got, want := h.agent.logPath(p, "c", 0), filepath.Join(h.agent.podDir(p), "logs", "c_0.log"); got != want {
		t.Fatalf("logPath = %s, want %s", got, want)
	}
	legacy := filepath.Join(h.agent.podDir(p), "logs", "c", "0.log")
	if err := os.Remove(h.agent.logPath(p, "c", 0)); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(legacy), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(legacy, []byte("2026-11-22T12:00:00Z stdout F from an older kjet\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.agent.ServePodSubresource(rec, httptest.NewRequest(http.MethodGet, "/log?previous=true", nil), p, "log")
	if rec.Code != 200 || rec.Body.String() != "from an older kjet\n" {
		t.Fatalf("legacy log: got %d %q", rec.Code, rec.Body.String())
	}

	// A fresh pod has no previous container, and a waiting one no log yet.
	fresh := newTestPod("fresh", corev1.RestartPolicyNever, "c")
	fresh.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}}
	for _, tc := range []struct{ query, want string }{
		{"previous=true", `previous terminated container "c" in pod "fresh" not found`},
		{"", `container "c" in pod "fresh" is waiting to start: ContainerCreating`},
	} {
		rec := httptest.NewRecorder()
		h.agent.ServePodSubresource(rec, httptest.NewRequest(http.MethodGet, "/log?"+tc.query, nil), fresh, "log")
		var status metav1.Status
		if err := json.Unmarshal(rec.Body.Bytes(), &status); err != nil {
			t.Fatal(err)
		}
		if rec.Code != 400 || status.Message != tc.want {
			t.Fatalf("got %d %q, want 400 %q", rec.Code, rec.Body.String(), tc.want)
		}
	}
}

func (f *fakeRuntime) setExecCode(code int) {
	f.mu.Lock()
	f.execCode = code
	f.mu.Unlock()
}

func readyCondition(p *corev1.Pod) corev1.PodCondition { return conditionOf(p.Status, corev1.PodReady) }

func TestReadinessProbe(t *testing.T) {
	h := newHarness(t)
	h.start()
	pod := newTestPod("ready", corev1.RestartPolicyNever, "c")
	pod.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"check"}}},
		PeriodSeconds:    1,
		FailureThreshold: 1,
	}
	h.create(pod)
	h.waitPod("ready", "ready", func(p *corev1.Pod) bool { return readyCondition(p).Status == corev1.ConditionTrue })
	h.rt.setExecCode(1)
	h.clock.Step(time.Second)
	p := h.waitPod("ready", "not ready", func(p *corev1.Pod) bool {
		if readyCondition(p).Status == corev1.ConditionTrue {
			h.clock.Step(time.Second) // the probe may not have been waiting yet
			return false
		}
		return true
	})
	if c := readyCondition(p); c.Reason != "ContainersNotReady" || c.Message != "containers with unready status: [c]" {
		t.Fatalf("Ready condition %+v", c)
	}
	if p.Status.Phase != corev1.PodRunning || p.Status.ContainerStatuses[0].Ready {
		t.Fatalf("status %+v", p.Status)
	}
}

func TestLivenessProbeRestarts(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.rt.setExecCode(1)
	pod := newTestPod("live", corev1.RestartPolicyAlways, "c")
	pod.Spec.Containers[0].LivenessProbe = &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"check"}}},
		PeriodSeconds:    1,
		FailureThreshold: 1,
	}
	h.create(pod)
	// The probe runs on the fake clock: step it until the failed probe has killed the
	// first attempt and the container runs again (the first restart is immediate). The
	// first attempt may be killed before a poll sees it running, so only the restarted
	// attempt is waited for.
	restarted := containerID("uid-live", "c", 1)
	poll(t, "container "+restarted+" started", func() bool {
		// Started at all: with the clock stepping, the probe may already have killed
		// this attempt too by the time the poll looks.
		if _, ok := h.rt.state(restarted); ok {
			return true
		}
		h.clock.Step(time.Second)
		return false
	})
	h.rt.setExecCode(0)
	if g, ok := h.rt.stopGrace(containerID("uid-live", "c", 0)); !ok || g != 30*time.Second {
		t.Fatalf("liveness kill grace %v %v", g, ok)
	}
}

// A container that exits at once costs one status write: the agent folds the start and
// the exit into the same update.
func TestQuickPodWritesStatusOnce(t *testing.T) {
	h := newHarness(t)
	h.rt.exitOnStart["quick"] = 0
	h.start()
	h.create(newTestPod("fast", corev1.RestartPolicyNever, "quick"))
	h.waitPod("fast", "succeeded", phaseIs(corev1.PodSucceeded))
	writes := 0
	for _, action := range h.client.Actions() {
		if action.Matches("update", "pods") && action.GetSubresource() == "status" {
			writes++
		}
	}
	if writes != 1 {
		t.Fatalf("%d status writes, want 1", writes)
	}
}

// An exit shortly after the start is folded into the first status write too.
func TestStartedStatusDelayFoldsEarlyExit(t *testing.T) {
	h := newHarness(t)
	h.startedDelay = time.Hour // only the exit ends the wait
	h.start()
	h.create(newTestPod("early", corev1.RestartPolicyNever, "c"))
	id := containerID("uid-early", "c", 0)
	h.waitRunning(id)
	h.rt.exit(id, 0, true)
	h.waitPod("early", "succeeded", phaseIs(corev1.PodSucceeded))
	writes := 0
	for _, action := range h.client.Actions() {
		if action.Matches("update", "pods") && action.GetSubresource() == "status" {
			writes++
		}
	}
	if writes != 1 {
		t.Fatalf("%d status writes, want 1", writes)
	}
}

// On a pod informer shared with the scheduler and the controllers, the agent runs the
// pods bound to its node, including those bound after they were created, and leaves
// every other pod alone.
func TestSharedPodInformerRunsOnlyThisNodesPods(t *testing.T) {
	h := newHarness(t)
	h.sharedPods = true
	h.rt.exitOnStart["quick"] = 0
	other := newTestPod("other", corev1.RestartPolicyNever, "quick")
	other.Spec.NodeName = "node-2"
	late := newTestPod("late", corev1.RestartPolicyNever, "quick")
	late.Spec.NodeName = ""
	h.create(other)
	h.create(late)
	h.start()

	p := h.get("late")
	p.Spec.NodeName = testNode // what the binding does
	if _, err := h.client.CoreV1().Pods("default").Update(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.waitPod("late", "succeeded", phaseIs(corev1.PodSucceeded))
	if _, ran := h.rt.state(containerID("uid-other", "quick", 0)); ran {
		t.Fatal("the agent ran a pod bound to another node")
	}
	if p := h.get("other"); p.Status.Phase != corev1.PodPending || len(p.Status.ContainerStatuses) != 0 {
		t.Fatalf("the agent wrote the status of a pod bound to another node: %+v", p.Status)
	}
}
