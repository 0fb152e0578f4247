package components

import (
	"time"

	"k8s.io/utils/clock"
)

// ScaledClock returns a clock that runs speed times faster than real time from now on:
// its Now starts at the real time and every real second adds speed seconds, and its
// timers and tickers fire after duration/speed real time. e2e tests give it to the
// CronJob controller so that `*/1 * * * *` fires every second at speed 60; speed 1 (or
// less) returns the real clock.
func ScaledClock(speed float64) clock.WithTicker {
	if speed <= 1 {
		return clock.RealClock{}
	}
	real := clock.RealClock{}
	return &scaledClock{real: real, origin: real.Now(), speed: speed}
}

type scaledClock struct {
	real   clock.WithTicker
	origin time.Time
	speed  float64
}

var _ clock.WithTicker = (*scaledClock)(nil)

func (c *scaledClock) Now() time.Time {
	elapsed := c.real.Since(c.origin)
	return c.origin.Add(time.Duration(float64(elapsed) * c.speed))
}

func (c *scaledClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// real converts a duration on this clock to real time.
func (c *scaledClock) toReal(d time.Duration) time.Duration {
	return time.Duration(float64(d) / c.speed)
}

func (c *scaledClock) After(d time.Duration) <-chan time.Time { return c.real.After(c.toReal(d)) }

func (c *scaledClock) NewTimer(d time.Duration) clock.Timer { return c.real.NewTimer(c.toReal(d)) }

func (c *scaledClock) Sleep(d time.Duration) { c.real.Sleep(c.toReal(d)) }

func (c *scaledClock) Tick(d time.Duration) <-chan time.Time { return c.real.Tick(c.toReal(d)) }

func (c *scaledClock) NewTicker(d time.Duration) clock.Ticker { return c.real.NewTicker(c.toReal(d)) }
