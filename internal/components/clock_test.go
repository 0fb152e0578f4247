package components

import (
	"testing"
	"time"
)

func TestScaledClock(t *testing.T) {
	c := ScaledClock(600)
	start := c.Now()
	timer := c.NewTimer(time.Minute) // 100ms of real time
	deadline := time.After(5 * time.Second)
	select {
	case <-timer.C():
	case <-deadline:
		t.Fatal("a one-minute timer on a 600x clock did not fire within 5 real seconds")
	}
	if got := c.Since(start); got < time.Minute {
		t.Fatalf("after the timer fired only %v passed on the scaled clock, want >= 1m", got)
	}
	if _, ok := ScaledClock(1).(interface {
		toReal(time.Duration) time.Duration
	}); ok {
		t.Fatal("speed 1 should be the real clock")
	}
}
