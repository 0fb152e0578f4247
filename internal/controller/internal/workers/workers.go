// Package workers runs a controller's worker loops over its work queues: each loop takes
// one item at a time until its queue shuts down, and Run stops and waits for all of them
// when the controller's context ends.
package workers

import (
	"context"
	"sync"
)

// Queue is the part of a client-go work queue Run needs.
type Queue interface {
	ShutDown()
}

// Loop is one kind of worker: Process handles one queue item and returns false once its
// queue has shut down. Workers copies of it run.
type Loop struct {
	Workers int
	Process func(ctx context.Context) bool
}

// Run starts every loop's workers, waits for ctx to end, shuts the queues down (so that
// Process returns false after the item in hand) and returns once every worker has.
func Run(ctx context.Context, queues []Queue, loops ...Loop) {
	var wg sync.WaitGroup
	for _, loop := range loops {
		for range loop.Workers {
			wg.Go(func() {
				for loop.Process(ctx) {
				}
			})
		}
	}
	<-ctx.Done()
	for _, q := range queues {
		q.ShutDown()
	}
	wg.Wait()
}
