// Package workers runs the worker loops of a controller, the scheduler or the node
// agent's status manager over their work queues: each loop takes one item at a time
// until its queue shuts down (ProcessNext handles one item and its retry), and Run stops
// and waits for all of them when the owner's context ends.
package workers

import (
	"context"
	"sync"
	"time"

	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/util/workqueue"
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

// Result says what becomes of a queue item after its sync succeeded.
type Result struct {
	// RetryRateLimited re-adds the item under the queue's rate limit, as after an error.
	RetryRateLimited bool
	// RequeueAfter, when set, forgets the item's failures and re-adds it after this long.
	RequeueAfter *time.Duration
}

// ProcessNext takes one item from q and syncs it: an error (logged as "<what>") or
// Result.RetryRateLimited re-adds it rate-limited, Result.RequeueAfter re-adds it later,
// anything else forgets it. It returns false once q has shut down, so a Loop's Process
// is `func(ctx) bool { return ProcessNext(ctx, q, what, sync) }`.
func ProcessNext[T comparable](ctx context.Context, q workqueue.TypedRateLimitingInterface[T], what string, sync func(context.Context, T) (Result, error)) bool {
	item, quit := q.Get()
	if quit {
		return false
	}
	defer q.Done(item)
	res, err := sync(ctx, item)
	switch {
	case err != nil:
		utilruntime.HandleErrorWithContext(ctx, err, what+"; will retry", "item", item)
		q.AddRateLimited(item)
	case res.RetryRateLimited:
		q.AddRateLimited(item)
	case res.RequeueAfter != nil:
		q.Forget(item)
		q.AddAfter(item, *res.RequeueAfter)
	default:
		q.Forget(item)
	}
	return true
}
