package agent

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/clock"

	"github.com/kjet-dev/kjet/internal/runtime/process"
)

// The test binary doubles as the process runtime's supervisor:
//
//	kjet-supervisor --dir DIR
func TestMain(m *testing.M) {
	if len(os.Args) > 3 && os.Args[1] == "kjet-supervisor" && os.Args[2] == "--dir" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		err := process.RunSupervisor(ctx, process.SupervisorOptions{Dir: os.Args[3], IdleTimeout: 5 * time.Second})
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// newProcessRuntime starts a supervisor in a fresh directory; cleanup stops it.
func newProcessRuntime(t *testing.T) *process.Runtime {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "kjet-agent-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	rt, err := process.New(context.Background(), process.Options{Dir: dir, SupervisorArgv: []string{self, "kjet-supervisor", "--dir", dir}})
	if err != nil {
		t.Fatal(err)
	}
	pid, err := rt.SupervisorPID()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := rt.Shutdown(ctx, time.Second); err != nil {
			t.Logf("supervisor shutdown: %v", err)
		}
		rt.Close()
		deadline := time.Now().Add(10 * time.Second)
		for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if syscall.Kill(pid, 0) == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return rt
}

func TestWithProcessRuntime(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	rt := newProcessRuntime(t)
	client := fake.NewClientset()
	a, err := New(Options{NodeName: testNode, Client: client, Runtime: rt, PodsDir: t.TempDir(), Clock: clock.RealClock{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = a.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })

	h := &harness{t: t, client: client}
	pod := newTestPod("echo", corev1.RestartPolicyNever, "c")
	pod.Spec.Containers[0].Command = []string{"sh", "-c", "echo hello $(WHO); exit $CODE"}
	pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "WHO", Value: "kjet"}, {Name: "CODE", Value: "0"}}
	h.create(pod)
	p := h.waitPod("echo", "succeeded", phaseIs(corev1.PodSucceeded))
	rec := httptest.NewRecorder()
	a.ServePodSubresource(rec, httptest.NewRequest(http.MethodGet, "/log", nil), p, "log")
	if rec.Code != 200 || rec.Body.String() != "hello kjet\n" {
		t.Fatalf("log: %d %q", rec.Code, rec.Body.String())
	}

	failing := newTestPod("fail", corev1.RestartPolicyNever, "c")
	failing.Spec.Containers[0].Command = []string{"sh", "-c", "exit 3"}
	h.create(failing)
	p = h.waitPod("fail", "failed", phaseIs(corev1.PodFailed))
	if term := p.Status.ContainerStatuses[0].State.Terminated; term == nil || term.ExitCode != 3 || term.Reason != "Error" {
		t.Fatalf("status %+v", p.Status.ContainerStatuses[0])
	}

	// A long-running pod deleted with grace: SIGTERM ends it (143).
	sleeper := newTestPod("sleeper", corev1.RestartPolicyNever, "c")
	sleeper.Spec.Containers[0].Command = []string{"sleep", "60"}
	h.create(sleeper)
	p = h.waitPod("sleeper", "running", phaseIs(corev1.PodRunning))
	now := metav1.Now()
	grace := int64(5)
	p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &now, &grace
	if _, err := client.CoreV1().Pods("default").Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "sleeper deleted", func() bool { return h.get("sleeper") == nil })
	poll(t, "worker gone", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.workers["uid-sleeper"] == nil
	})
	if _, err := rt.Status(ctx, containerID("uid-sleeper", "c", 0)); err == nil {
		t.Fatal("container of the deleted pod is still known to the runtime")
	}
}
