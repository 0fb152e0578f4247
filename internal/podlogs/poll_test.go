package podlogs

import (
	"context"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func TestPollerPacing(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		name  string
		idle  time.Duration
		steps []time.Duration // the waits expected, 0 = reset before the next wait
	}{
		{name: "starts at a tenth and doubles to the idle interval", idle: 50 * ms, steps: []time.Duration{5 * ms, 10 * ms, 20 * ms, 40 * ms, 50 * ms, 50 * ms}},
		{name: "new records make the next check quick again", idle: 50 * ms, steps: []time.Duration{5 * ms, 10 * ms, 0, 5 * ms, 10 * ms}},
		{name: "an interval too small to divide is used as is", idle: 5 * time.Nanosecond, steps: []time.Duration{5 * time.Nanosecond, 5 * time.Nanosecond}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := clocktesting.NewFakeClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
			p := newPoller(clock, tc.idle)
			for i, want := range tc.steps {
				if want == 0 {
					p.reset()
					continue
				}
				done := make(chan error, 1)
				go func() { done <- p.wait(context.Background()) }()
				deadline := time.Now().Add(5 * time.Second)
				for !clock.HasWaiters() {
					if time.Now().After(deadline) {
						t.Fatalf("step %d: wait never started its timer", i)
					}
					time.Sleep(time.Millisecond)
				}
				if want > 1 {
					clock.Step(want - 1)
					select {
					case <-done:
						t.Fatalf("step %d: wait returned before %v", i, want)
					case <-time.After(10 * time.Millisecond):
					}
					clock.Step(1)
				} else {
					clock.Step(want)
				}
				select {
				case err := <-done:
					if err != nil {
						t.Fatalf("step %d: wait: %v", i, err)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("step %d: wait did not return after %v", i, want)
				}
			}
		})
	}
}

func TestPollerStopsWithContext(t *testing.T) {
	clock := clocktesting.NewFakeClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	p := newPoller(clock, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.wait(ctx); err == nil {
		t.Fatal("wait with a cancelled context returned nil")
	}
}
