package workerpool

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"
)

// goroutineID is not exposed by the runtime; a call's stack trace header names it.
func goroutineHeader() string {
	buf := make([]byte, 64)
	n := runtime.Stack(buf, false)
	b := buf[:n]
	for i, c := range b {
		if c == '[' {
			return string(b[:i])
		}
	}
	return string(b)
}

func TestDo(t *testing.T) {
	tests := []struct {
		name        string
		workers     int
		wantOnOther bool
	}{
		{name: "no workers: runs on the caller", workers: 0, wantOnOther: false},
		{name: "idle worker: runs on the worker", workers: 1, wantOnOther: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := runningPool(t, tt.workers)
			caller := goroutineHeader()
			deadline := time.Now().Add(10 * time.Second)
			for {
				var ran string
				p.Do(func() { ran = goroutineHeader() })
				if (ran != caller) == tt.wantOnOther {
					return
				}
				// The worker may not have reached its receive yet: poll until it has.
				if !tt.wantOnOther || time.Now().After(deadline) {
					t.Fatalf("call ran on %q, caller is %q, want on another goroutine: %v", ran, caller, tt.wantOnOther)
				}
				runtime.Gosched()
			}
		})
	}
}

func TestDoRepanicsOnCaller(t *testing.T) {
	p := runningPool(t, 2)
	for range 100 {
		got := func() (v any) {
			defer func() { v = recover() }()
			p.Do(func() { panic("boom") })
			return nil
		}()
		if got != "boom" {
			t.Fatalf("recovered %v, want boom", got)
		}
	}
}

func TestDoWhileWorkersBusy(t *testing.T) {
	p := runningPool(t, 1)
	// Many more concurrent calls than workers, each held until all have started: if a
	// call waited for a busy worker instead of running at once, they never all start.
	const calls = 50
	started := make(chan struct{}, calls)
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range calls {
		wg.Go(func() {
			p.Do(func() {
				started <- struct{}{}
				<-release
			})
		})
	}
	timeout := time.After(10 * time.Second)
	for i := range calls {
		select {
		case <-started:
		case <-timeout:
			close(release)
			t.Fatalf("only %d of %d calls started: some waited for the busy worker", i, calls)
		}
	}
	close(release)
	wg.Wait()
}

// runningPool is a pool whose workers run until the test ends.
func runningPool(t *testing.T, workers int) *Pool {
	t.Helper()
	p := New()
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { p.Run(ctx, workers); close(stopped) }()
	t.Cleanup(func() { cancel(); <-stopped })
	return p
}
