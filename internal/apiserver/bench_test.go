package apiserver

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kjet-dev/kjet/internal/storage/bolt"
)

// BenchmarkCreateGetJob creates a Job and reads it back over HTTP (httptest, memory
// storage), the API server's hot path.
func BenchmarkCreateGetJob(b *testing.B) {
	benchmarkCreateGetJob(b, newTestEnv(b))
}

// BenchmarkCreateGetJobBolt is BenchmarkCreateGetJob over the embedded bolt store
// (every create is a durable commit).
func BenchmarkCreateGetJobBolt(b *testing.B) {
	store, err := bolt.Open(filepath.Join(b.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	benchmarkCreateGetJob(b, newTestEnv(b, func(o *Options) {
		_ = o.Storage.Close()
		o.Storage = store
	}))
}

func benchmarkCreateGetJob(b *testing.B, e *testEnv) {
	client := e.http.Client()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("job-%d", i)
		body := strings.Replace(jobBody, `"name":"pi"`, `"name":"`+name+`"`, 1)
		resp, err := client.Post(e.http.URL+jobPath, "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("create: %d", resp.StatusCode)
		}
		resp, err = client.Get(e.http.URL + jobPath + "/" + name)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("get: %d", resp.StatusCode)
		}
	}
}

// BenchmarkWatchLatency measures the time from a write's response to its event
// arriving on an open watch.
func BenchmarkWatchLatency(b *testing.B) {
	e := newTestEnv(b)
	w := e.watch(cmPath + "?watch=true&resourceVersion=0")
	client := e.http.Client()
	b.ReportAllocs()
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		body := cmJSON(fmt.Sprintf("cm-%d", i), "")
		resp, err := client.Post(e.http.URL+cmPath, "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		select {
		case ev := <-w.events:
			if ev.Type != "ADDED" {
				b.Fatalf("event %s", ev.Type)
			}
		case <-ctx.Done():
			b.Fatal("no event")
		}
		cancel()
		total += time.Since(start)
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N), "µs-after-response/event")
}

// BenchmarkGetJobParallel measures read throughput: concurrent GETs of one Job.
func BenchmarkGetJobParallel(b *testing.B) {
	e := newTestEnv(b)
	e.mustDo(http.StatusCreated, "POST", jobPath, "application/json", jobBody)
	client := e.http.Client()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(e.http.URL + jobPath + "/pi")
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("get: %d", resp.StatusCode)
				return
			}
		}
	})
}
