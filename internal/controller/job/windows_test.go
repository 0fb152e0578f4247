package job

import (
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func TestSyncWindows(t *testing.T) {
	const window = 50 * time.Millisecond
	cases := []struct {
		name string
		// synced is how long before the enqueue the Job last synced; negative: never.
		synced time.Duration
		forget bool
		want   time.Duration
	}{
		{name: "never synced runs at once", synced: -1, want: 0},
		{name: "synced just now waits the whole window", synced: 0, want: window},
		{name: "synced mid-window waits the rest", synced: 20 * time.Millisecond, want: 30 * time.Millisecond},
		{name: "synced exactly a window ago runs at once", synced: window, want: 0},
		{name: "synced long ago runs at once", synced: time.Hour, want: 0},
		{name: "forgotten Job runs at once", synced: 0, forget: true, want: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := clocktesting.NewFakeClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
			w := newSyncWindows(clock, window)
			if tc.synced >= 0 {
				w.synced("ns/job")
				clock.Step(tc.synced)
			}
			if tc.forget {
				w.forget("ns/job")
			}
			if got := w.delay("ns/job"); got != tc.want {
				t.Errorf("delay = %v, want %v", got, tc.want)
			}
			if got := w.delay("ns/other"); got != 0 {
				t.Errorf("delay of a Job never synced = %v, want 0", got)
			}
		})
	}
}
