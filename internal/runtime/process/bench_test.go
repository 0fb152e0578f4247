package process

import (
	"context"
	"fmt"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kjet-dev/kjet/internal/runtime"
)

// runConcurrently runs op b.N times spread over n goroutines.
func runConcurrently(b *testing.B, n int, op func(i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	b.ResetTimer()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				if err := op(int(i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// BenchmarkStartTrue starts `true` through the runtime and waits for its exit to be
// recorded and delivered.
func BenchmarkStartTrue(b *testing.B) {
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("concurrency=%d", n), func(b *testing.B) {
			rt, _ := newRuntime(b)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// Route exit events to the goroutine waiting for each container.
			var mu sync.Mutex
			waiting := map[string]chan struct{}{}
			exited := rt.Exited(ctx)
			go func() {
				for id := range exited {
					mu.Lock()
					ch := waiting[id]
					delete(waiting, id)
					mu.Unlock()
					if ch != nil {
						close(ch)
					}
				}
			}()
			runConcurrently(b, n, func(i int) error {
				id := fmt.Sprintf("true-%d", i)
				done := make(chan struct{})
				mu.Lock()
				waiting[id] = done
				mu.Unlock()
				st, err := rt.Start(ctx, runtime.ContainerConfig{ID: id, Argv: []string{"true"}})
				if err != nil {
					return err
				}
				if st.Reason == "StartError" {
					return fmt.Errorf("start: %s", st.Message)
				}
				<-done
				return rt.Remove(ctx, id)
			})
		})
	}
}

// BenchmarkDirectSpawnTrue is the baseline: os/exec running `true` from Go.
func BenchmarkDirectSpawnTrue(b *testing.B) {
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("concurrency=%d", n), func(b *testing.B) {
			runConcurrently(b, n, func(int) error {
				return exec.Command("true").Run()
			})
		})
	}
}
