package bolt_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kjet-dev/kjet/internal/storage"
	"github.com/kjet-dev/kjet/internal/storage/bolt"
	"github.com/kjet-dev/kjet/internal/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Interface {
		s, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{WatchHistory: storagetest.WatchHistory})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

func TestDurable(t *testing.T) {
	storagetest.RunDurable(t, func(t *testing.T, dir string) storage.Interface {
		s, err := bolt.Open(filepath.Join(dir, "state.db"), bolt.Options{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

func TestSecondOpenFailsFast(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	first, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = first.Close() })
	start := time.Now()
	second, err := bolt.Open(path, bolt.Options{LockTimeout: 100 * time.Millisecond})
	if err == nil {
		_ = second.Close()
		t.Fatalf("second Open of a locked file succeeded")
	}
	if !errors.Is(err, bolt.ErrLocked) {
		t.Errorf("second Open: error %v, want ErrLocked", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("second Open took %s to fail", d)
	}
	// Once the first store is closed the file opens again.
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	third, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	if err := third.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestRejectsOversizedKey(t *testing.T) {
	s, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		key  string
	}{
		{"empty", ""},
		{"too long", "/" + string(make([]byte, 40000))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.Create(ctx, tc.key, []byte("v")); err == nil {
				t.Errorf("Create of a %s key succeeded", tc.name)
			}
		})
	}
	if _, err := s.Create(ctx, "/registry/pods/default/a", []byte("v")); err != nil {
		t.Errorf("Create after rejected keys: %v", err)
	}
}

func newBenchStore(tb testing.TB) storage.Interface {
	s, err := bolt.Open(filepath.Join(tb.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	return s
}

func BenchmarkCreate(b *testing.B) {
	b.Run("sequential", func(b *testing.B) { storagetest.BenchCreate(b, newBenchStore) })
	b.Run("parallel-4x", func(b *testing.B) { storagetest.BenchCreateParallel(b, newBenchStore, 4) })
	b.Run("parallel-16x", func(b *testing.B) { storagetest.BenchCreateParallel(b, newBenchStore, 16) })
	b.Run("parallel-128x", func(b *testing.B) { storagetest.BenchCreateParallel(b, newBenchStore, 128) })
}

func BenchmarkGet(b *testing.B) { storagetest.BenchGet(b, newBenchStore) }

func BenchmarkWatchLatency(b *testing.B) { storagetest.BenchWatchLatency(b, newBenchStore) }

// TestReplaysLogAfterCrash copies the files of an open store, as a crash would leave
// them, with every write still only in the write-ahead log (no checkpoint has run), and
// opens the copy: every acknowledged write, update and delete is there.
func TestReplaysLogAfterCrash(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.db")
	s, err := bolt.Open(path, bolt.Options{CheckpointInterval: time.Hour})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	for i := range 50 {
		if _, err := s.Create(ctx, fmt.Sprintf("/k/%02d", i), []byte(fmt.Sprintf("v%d", i))); err != nil {
			t.Fatalf("Create: %v", err)
		}
	}
	kv, err := s.Get(ctx, "/k/07")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, "/k/07", []byte("changed"), kv.ModRevision); err != nil {
		t.Fatalf("Update: %v", err)
	}
	kv, err = s.Get(ctx, "/k/08")
	if err != nil {
		t.Fatal(err)
	}
	deleted, err := s.Delete(ctx, "/k/08", kv.ModRevision)
	if err != nil {
		t.Fatalf("Delete: %v", err)
	}
	last := deleted.ModRevision

	crashed := filepath.Join(t.TempDir(), "state.db")
	for _, suffix := range []string{"", "-wal"} {
		data, err := os.ReadFile(path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(crashed+suffix, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r, err := bolt.Open(crashed, bolt.Options{})
	if err != nil {
		t.Fatalf("Open after crash: %v", err)
	}
	defer r.Close()
	list, err := r.List(ctx, "/k/", storage.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if list.Revision != last {
		t.Errorf("revision after replay %d, want %d", list.Revision, last)
	}
	if len(list.Items) != 49 {
		t.Fatalf("%d keys after replay, want 49", len(list.Items))
	}
	for _, kv := range list.Items {
		want := "v" + strings.TrimLeft(strings.TrimPrefix(kv.Key, "/k/"), "0")
		if kv.Key == "/k/00" {
			want = "v0"
		}
		if kv.Key == "/k/07" {
			want = "changed"
		}
		if string(kv.Value) != want {
			t.Errorf("%s = %q, want %q", kv.Key, kv.Value, want)
		}
		if kv.Key == "/k/08" {
			t.Errorf("deleted key %s is back", kv.Key)
		}
	}
}
