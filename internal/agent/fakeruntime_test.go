package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/kjet-dev/kjet/internal/runtime"
)

// fakeRuntime is an in-memory runtime.Runtime: containers run until the test makes
// them exit.
type fakeRuntime struct {
	clock clock.PassiveClock

	mu         sync.Mutex
	containers map[string]*runtime.ContainerStatus
	starts     map[string]int // Start calls per container ID
	stops      map[string]time.Duration
	subs       []chan string
	execCode   int
	// exitOnStart makes containers with these names exit at once with the code.
	exitOnStart map[string]int
}

var _ runtime.Runtime = (*fakeRuntime)(nil)

func newFakeRuntime(c clock.PassiveClock) *fakeRuntime {
	return &fakeRuntime{clock: c, containers: map[string]*runtime.ContainerStatus{}, starts: map[string]int{},
		stops: map[string]time.Duration{}, exitOnStart: map[string]int{}}
}

func (f *fakeRuntime) Start(_ context.Context, cfg runtime.ContainerConfig) (runtime.ContainerStatus, error) {
	if cfg.LogPath != "" {
		if err := os.MkdirAll(filepath.Dir(cfg.LogPath), 0o755); err != nil {
			return runtime.ContainerStatus{}, err
		}
		line := fmt.Sprintf("%s stdout F attempt %d of %s\n", f.clock.Now().UTC().Format(time.RFC3339Nano), cfg.Attempt, cfg.ContainerName)
		if err := os.WriteFile(cfg.LogPath, []byte(line), 0o644); err != nil {
			return runtime.ContainerStatus{}, err
		}
	}
	f.mu.Lock()
	st := &runtime.ContainerStatus{ID: cfg.ID, Config: cfg, State: runtime.StateRunning, PID: 1000 + len(f.containers), StartedAt: f.clock.Now()}
	f.containers[cfg.ID] = st
	f.starts[cfg.ID]++
	code, exitNow := f.exitOnStart[cfg.ContainerName]
	f.mu.Unlock()
	if exitNow {
		f.exit(cfg.ID, code, true)
	}
	return f.Status(context.Background(), cfg.ID)
}

// exit ends a running container with the exit code; notify delivers it on Exited.
func (f *fakeRuntime) exit(id string, code int, notify bool) {
	f.mu.Lock()
	st, ok := f.containers[id]
	if !ok || st.State != runtime.StateRunning {
		f.mu.Unlock()
		return
	}
	st.State, st.ExitCode, st.FinishedAt = runtime.StateExited, code, f.clock.Now()
	st.Reason = "Completed"
	if code != 0 {
		st.Reason = "Error"
	}
	subs := append([]chan string(nil), f.subs...)
	f.mu.Unlock()
	if notify {
		for _, c := range subs {
			c <- id
		}
	}
}

func (f *fakeRuntime) Stop(_ context.Context, id string, grace time.Duration) error {
	f.mu.Lock()
	_, ok := f.containers[id]
	f.stops[id] = grace
	f.mu.Unlock()
	if !ok {
		return runtime.ErrNotFound
	}
	f.exit(id, 143, true)
	return nil
}

func (f *fakeRuntime) Status(_ context.Context, id string) (runtime.ContainerStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.containers[id]
	if !ok {
		return runtime.ContainerStatus{}, runtime.ErrNotFound
	}
	return *st, nil
}

func (f *fakeRuntime) List(context.Context) ([]runtime.ContainerStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]runtime.ContainerStatus, 0, len(f.containers))
	for _, st := range f.containers {
		out = append(out, *st)
	}
	return out, nil
}

func (f *fakeRuntime) Remove(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.containers[id]; !ok {
		return runtime.ErrNotFound
	}
	delete(f.containers, id)
	return nil
}

func (f *fakeRuntime) Exited(ctx context.Context) <-chan string {
	c := make(chan string, 100)
	f.mu.Lock()
	f.subs = append(f.subs, c)
	f.mu.Unlock()
	go func() {
		<-ctx.Done()
		f.mu.Lock()
		for i, s := range f.subs {
			if s == c {
				f.subs = append(f.subs[:i], f.subs[i+1:]...)
				break
			}
		}
		f.mu.Unlock()
	}()
	return c
}

func (f *fakeRuntime) Exec(context.Context, string, runtime.ExecOptions) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.execCode, nil
}

func (f *fakeRuntime) Attach(context.Context, string, runtime.ExecOptions) error { return nil }

func (f *fakeRuntime) startCount(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.starts[id]
}

func (f *fakeRuntime) state(id string) (runtime.State, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.containers[id]
	if !ok {
		return "", false
	}
	return st.State, true
}

func (f *fakeRuntime) stopGrace(id string) (time.Duration, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, ok := f.stops[id]
	return g, ok
}
