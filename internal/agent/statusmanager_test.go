package agent

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	testingclock "k8s.io/utils/clock/testing"
)

// statusWrites records the phases of the status writes a fake clientset receives.
type statusWrites struct {
	mu     sync.Mutex
	phases []corev1.PodPhase
}

func (s *statusWrites) record(action k8stesting.Action) {
	if action.GetSubresource() != "status" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.phases = append(s.phases, action.(k8stesting.UpdateAction).GetObject().(*corev1.Pod).Status.Phase)
}

func (s *statusWrites) get() []corev1.PodPhase {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]corev1.PodPhase(nil), s.phases...)
}

func startStatusManager(t *testing.T, client *fake.Clientset, clk *testingclock.FakeClock) *statusManager {
	t.Helper()
	m := newStatusManager(client, clk, slog.New(slog.DiscardHandler), 2)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return m
}

func phaseUpdate(pod *corev1.Pod, phase corev1.PodPhase) *statusUpdate {
	st := corev1.PodStatus{Phase: phase}
	return &statusUpdate{pod: pod, status: &st}
}

// Statuses queued while an earlier write of the same pod is in flight collapse into the
// latest: the stale ones are never sent, the last one always is.
func TestStatusManagerSendsOnlyTheLatestQueuedStatus(t *testing.T) {
	pod := newTestPod("p", corev1.RestartPolicyNever, "c")
	client := fake.NewClientset(pod)
	writes := &statusWrites{}
	inFlight, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	client.PrependReactor("update", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		writes.record(action)
		once.Do(func() { close(inFlight); <-release })
		return false, nil, nil
	})
	m := startStatusManager(t, client, testingclock.NewFakeClock(time.Now()))

	m.set(phaseUpdate(pod, corev1.PodPending))
	<-inFlight
	m.set(phaseUpdate(pod, corev1.PodRunning))
	m.set(phaseUpdate(pod, corev1.PodSucceeded))
	close(release)
	poll(t, "final status written", func() bool { return len(writes.get()) == 2 })
	if got := writes.get(); got[0] != corev1.PodPending || got[1] != corev1.PodSucceeded {
		t.Fatalf("status writes %v, want [Pending Succeeded]", got)
	}
}

// A status the API refuses is retried with back-off until it lands, and a delete asked
// for with it waits for it.
func TestStatusManagerRetriesRefusedWrites(t *testing.T) {
	cases := []struct {
		name    string
		refusal error
	}{
		{name: "server error", refusal: apierrors.NewInternalError(errors.New("disk full"))},
		{name: "too many requests", refusal: apierrors.NewTooManyRequests("slow down", 1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := newTestPod("p", corev1.RestartPolicyNever, "c")
			client := fake.NewClientset(pod)
			writes := &statusWrites{}
			var mu sync.Mutex
			refusals, deletedAfter := 2, -1
			client.PrependReactor("update", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
				writes.record(action)
				mu.Lock()
				defer mu.Unlock()
				if refusals > 0 {
					refusals--
					return true, nil, tc.refusal
				}
				return false, nil, nil
			})
			client.PrependReactor("delete", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
				mu.Lock()
				deletedAfter = len(writes.get())
				mu.Unlock()
				return false, nil, nil
			})
			clk := testingclock.NewFakeClock(time.Now())
			m := startStatusManager(t, client, clk)
			u := phaseUpdate(pod, corev1.PodSucceeded)
			u.delete = true
			m.set(u)
			poll(t, "pod deleted", func() bool {
				if clk.HasWaiters() {
					clk.Step(statusRetryMax)
				}
				mu.Lock()
				defer mu.Unlock()
				return deletedAfter >= 0
			})
			mu.Lock()
			defer mu.Unlock()
			if deletedAfter != 3 {
				t.Fatalf("deleted after %d status writes, want 3 (two refused)", deletedAfter)
			}
		})
	}
}

// What is still queued when the agent stops is written on the way out.
func TestStatusManagerFlushesOnStop(t *testing.T) {
	pod := newTestPod("p", corev1.RestartPolicyNever, "c")
	client := fake.NewClientset(pod)
	writes := &statusWrites{}
	client.PrependReactor("update", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		writes.record(action)
		return false, nil, nil
	})
	// No writers: only the flush on stop can write it.
	m := newStatusManager(client, testingclock.NewFakeClock(time.Now()), slog.New(slog.DiscardHandler), 0)
	m.set(phaseUpdate(pod, corev1.PodSucceeded))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m.run(ctx)
	if got := writes.get(); len(got) != 1 || got[0] != corev1.PodSucceeded {
		t.Fatalf("status writes %v, want [Succeeded]", got)
	}
}
