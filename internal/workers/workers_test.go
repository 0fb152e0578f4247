package workers

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/util/workqueue"
)

func TestRunProcessesUntilContextEnds(t *testing.T) {
	q := workqueue.NewTyped[int]()
	var processed atomic.Int32
	process := func(context.Context) bool {
		item, quit := q.Get()
		if quit {
			return false
		}
		defer q.Done(item)
		processed.Add(1)
		return true
	}
	for i := range 10 {
		q.Add(i)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		Run(ctx, []Queue{q}, Loop{Workers: 3, Process: process})
		close(done)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for processed.Load() < 10 {
		if time.Now().After(deadline) {
			t.Fatalf("processed %d of 10 items", processed.Load())
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case <-done:
		t.Fatal("Run returned before its context ended")
	default:
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if !q.ShuttingDown() {
		t.Fatal("the queue was not shut down")
	}
}

func TestProcessNext(t *testing.T) {
	later := time.Hour
	boom := errors.New("boom")
	cases := []struct {
		name         string
		res          Result
		err          error
		wantRequeues int // NumRequeues after processing: rate-limited re-adds count
	}{
		{name: "success forgets", res: Result{}},
		{name: "error retries rate-limited", err: boom, wantRequeues: 1},
		{name: "asked retry is rate-limited", res: Result{RetryRateLimited: true}, wantRequeues: 1},
		{name: "requeue after forgets failures", res: Result{RequeueAfter: &later}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
			defer q.ShutDown()
			q.Add("k")
			var got string
			ok := ProcessNext(context.Background(), q, "testing", func(_ context.Context, item string) (Result, error) {
				got = item
				return tc.res, tc.err
			})
			if !ok || got != "k" {
				t.Fatalf("ProcessNext = %v, synced %q", ok, got)
			}
			if n := q.NumRequeues("k"); n != tc.wantRequeues {
				t.Errorf("NumRequeues = %d, want %d", n, tc.wantRequeues)
			}
			if q.Len() != 0 {
				t.Errorf("the item was re-added at once (Len %d)", q.Len())
			}
		})
	}
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
	q.ShutDown()
	if ProcessNext(context.Background(), q, "testing", func(context.Context, string) (Result, error) { return Result{}, nil }) {
		t.Error("ProcessNext on a shut-down queue returned true")
	}
}
