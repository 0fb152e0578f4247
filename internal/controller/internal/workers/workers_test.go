package workers

import (
	"context"
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
