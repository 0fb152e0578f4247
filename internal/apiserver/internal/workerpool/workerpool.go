// Package workerpool runs calls on a few long-lived goroutines, so that deep call
// chains run on stacks that have already grown.
//
// net/http serves each request (each HTTP/2 stream) on a new goroutine whose stack
// starts small. A write through the API server goes deep (decoding, defaulting,
// managedFields' structured-merge-diff walks, encoding), and the runtime grows that
// stack by copying it several times on the way down, for every request: 8% of the
// server's CPU on an Indexed Job. A worker keeps the stack it grew for the next call.
// (gRPC-Go's server offers stream workers for the same reason.)
package workerpool

import (
	"context"
	"sync"
)

// Pool hands calls to idle workers. The zero value is not usable; call New.
type Pool struct {
	work chan call
}

type call struct {
	f    func()
	done chan any // receives f's panic value, or nil when f returned
}

// New returns a pool with no workers yet: until Run starts them, Do runs every call on
// the caller's goroutine.
func New() *Pool {
	return &Pool{work: make(chan call)}
}

// Run runs n workers until ctx ends, and returns once they have all stopped (each after
// the call it is running, if any).
func (p *Pool) Run(ctx context.Context, n int) {
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case c := <-p.work:
					c.done <- run(c.f)
				}
			}
		})
	}
	wg.Wait()
}

// run calls f and returns what it panicked with, if it did.
func run(f func()) (panicked any) {
	defer func() { panicked = recover() }()
	f()
	return nil
}

// Do calls f on an idle worker and waits for it, or calls f on the caller's goroutine
// when no worker is idle (so Do never queues behind long calls). If f panics, Do panics
// with the same value on the caller's goroutine, where the caller's recover sees it.
// f must not depend on running on the caller's goroutine.
func (p *Pool) Do(f func()) {
	c := call{f: f, done: make(chan any, 1)}
	select {
	case p.work <- c:
	default:
		f()
		return
	}
	if v := <-c.done; v != nil {
		panic(v)
	}
}
