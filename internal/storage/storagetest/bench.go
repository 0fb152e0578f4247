package storagetest

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kjet-dev/kjet/internal/storage"
)

// benchValue is a value about the size of a small Pod's JSON.
var benchValue = make([]byte, 2048)

// NewBenchStore returns a fresh, empty store for one benchmark; the benchmark closes it.
type NewBenchStore func(tb testing.TB) storage.Interface

func openBench(b *testing.B, newStore NewBenchStore) storage.Interface {
	s := newStore(b)
	b.Cleanup(func() {
		if err := s.Close(); err != nil {
			b.Errorf("Close: %v", err)
		}
	})
	return s
}

// BenchCreate measures creates from one goroutine (for a durable store: one fsync each).
func BenchCreate(b *testing.B, newStore NewBenchStore) {
	s := openBench(b, newStore)
	ctx := context.Background()
	b.SetBytes(int64(len(benchValue)))
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.Create(ctx, fmt.Sprintf("/registry/pods/default/p%d", i), benchValue); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchCreateParallel measures creates from many goroutines (b.SetParallelism sets how
// many per CPU); a group-committing store batches them into shared fsyncs. It reports
// writes/s.
func BenchCreateParallel(b *testing.B, newStore NewBenchStore, parallelism int) {
	s := openBench(b, newStore)
	ctx := context.Background()
	var n atomic.Int64
	b.SetBytes(int64(len(benchValue)))
	b.SetParallelism(parallelism)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			key := fmt.Sprintf("/registry/pods/default/p%d", n.Add(1))
			if _, err := s.Create(ctx, key, benchValue); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "writes/s")
}

// BenchGet measures reads of one key among 10,000.
func BenchGet(b *testing.B, newStore NewBenchStore) {
	s := openBench(b, newStore)
	ctx := context.Background()
	const keys = 10000
	writeParallelBench(b, s, keys)
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.Get(ctx, fmt.Sprintf("/registry/pods/default/p%d", i%keys)); err != nil {
			b.Fatal(err)
		}
	}
}

// writeParallelBench fills a store quickly (in parallel, so durable stores group-commit).
func writeParallelBench(b *testing.B, s storage.Interface, keys int) {
	const workers = 64
	done := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := w; i < keys; i += workers {
				if _, err := s.Create(context.Background(), fmt.Sprintf("/registry/pods/default/p%d", i), benchValue); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range workers {
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
}

// BenchWatchLatency measures how long a watcher waits for a write: one writer, one
// watcher receiving in its own goroutine (as a watch handler does), each write waiting
// for its event before the next. It reports the p50 and p99 of the time from a write's
// return to the event's arrival (ack→event) and the p99 from the start of the write to
// the event's arrival (write→event, which includes the fsync for durable stores).
func BenchWatchLatency(b *testing.B, newStore NewBenchStore) {
	s := openBench(b, newStore)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := s.Watch(ctx, "/registry/pods/", 0)
	if err != nil {
		b.Fatal(err)
	}
	arrivals := make(chan time.Time)
	recvDone := make(chan struct{})
	go func() {
		defer close(recvDone)
		for range ch {
			select {
			case arrivals <- time.Now():
			case <-ctx.Done():
				return
			}
		}
	}()
	ack := make([]time.Duration, b.N)
	write := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := range b.N {
		started := time.Now()
		if _, err := s.Create(ctx, fmt.Sprintf("/registry/pods/default/p%d", i), benchValue); err != nil {
			b.Fatal(err)
		}
		acked := time.Now()
		select {
		case arrived := <-arrivals:
			ack[i] = max(0, arrived.Sub(acked))
			write[i] = arrived.Sub(started)
		case <-time.After(waitTimeout):
			b.Fatalf("event for write %d never arrived", i)
		}
	}
	b.StopTimer()
	cancel()
	<-recvDone
	b.ReportMetric(float64(percentile(ack, 50).Nanoseconds()), "p50-ack→event-ns")
	b.ReportMetric(float64(percentile(ack, 99).Nanoseconds()), "p99-ack→event-ns")
	b.ReportMetric(float64(percentile(write, 99).Nanoseconds()), "p99-write→event-ns")
}

func percentile(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}
