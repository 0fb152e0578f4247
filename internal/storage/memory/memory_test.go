package memory_test

import (
	"testing"

	"github.com/kjet-dev/kjet/internal/storage"
	"github.com/kjet-dev/kjet/internal/storage/memory"
	"github.com/kjet-dev/kjet/internal/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Interface {
		return memory.New(memory.Options{WatchHistory: storagetest.WatchHistory})
	})
}

func newBenchStore(testing.TB) storage.Interface { return memory.New(memory.Options{}) }

func BenchmarkCreate(b *testing.B) {
	b.Run("sequential", func(b *testing.B) { storagetest.BenchCreate(b, newBenchStore) })
	b.Run("parallel-16x", func(b *testing.B) { storagetest.BenchCreateParallel(b, newBenchStore, 16) })
}

func BenchmarkGet(b *testing.B) { storagetest.BenchGet(b, newBenchStore) }

func BenchmarkWatchLatency(b *testing.B) { storagetest.BenchWatchLatency(b, newBenchStore) }
