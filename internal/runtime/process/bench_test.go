package process

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kjet-dev/kjet/internal/runtime"
)

// runConcurrently runs op b.N times spread over n goroutines. With cpu (the spawning
// process's own CPU time and its reaped children's), it reports both per op:
// spawner-cpu-ns/op is what the supervisor (or, for the baseline, the benchmark
// process) spent, child-cpu-ns/op what the spawned processes did.
func runConcurrently(b *testing.B, n int, op func(i int) error, cpu func() (own, children time.Duration)) {
	var own0, children0 time.Duration
	if cpu != nil {
		own0, children0 = cpu()
	}
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
	if cpu != nil {
		own, children := cpu()
		b.ReportMetric(float64(own-own0)/float64(b.N), "spawner-cpu-ns/op")
		b.ReportMetric(float64(children-children0)/float64(b.N), "child-cpu-ns/op")
	}
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
			pid, err := rt.SupervisorPID()
			if err != nil {
				b.Fatal(err)
			}
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
			}, func() (time.Duration, time.Duration) { return processCPU(b, pid) })
		})
	}
}

// BenchmarkDirectSpawnTrue is the baseline: os/exec running `true` from Go.
func BenchmarkDirectSpawnTrue(b *testing.B) {
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("concurrency=%d", n), func(b *testing.B) {
			runConcurrently(b, n, func(int) error {
				return exec.Command("true").Run()
			}, func() (time.Duration, time.Duration) { return processCPU(b, os.Getpid()) })
		})
	}
}

// processCPU reads a process's CPU time (utime+stime) and its reaped children's
// (cutime+cstime) from /proc/<pid>/stat, fields 14-17.
func processCPU(b *testing.B, pid int) (own, children time.Duration) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		b.Fatal(err)
	}
	i := bytes.LastIndexByte(data, ')')
	f := strings.Fields(string(data[i+1:]))
	// f[0] is field 3 (state): field n is f[n-3].
	var t [4]time.Duration
	for k := range t {
		v, err := strconv.ParseInt(f[14-3+k], 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		t[k] = time.Duration(v) * time.Second / clockTicks
	}
	return t[0] + t[1], t[2] + t[3]
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times (100 on Linux).
const clockTicks = 100
