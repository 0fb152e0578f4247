package kvindex

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/kjet-dev/kjet/internal/storage"
)

func commitOne(t *testing.T, idx *Index, op Op) storage.Event {
	t.Helper()
	b := idx.NewBatch()
	ev, err := b.Apply(op)
	if err != nil {
		t.Fatalf("Apply(%v %q): %v", op.Type, op.Key, err)
	}
	if err := idx.Commit(b); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return ev
}

func create(t *testing.T, idx *Index, key string) int64 {
	t.Helper()
	return commitOne(t, idx, Op{Type: OpCreate, Key: key, Value: []byte(key)}).KV.ModRevision
}

func recv(t *testing.T, ch <-chan *storage.Event) (storage.Event, bool) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			return storage.Event{}, false
		}
		return *ev, true
	case <-time.After(5 * time.Second):
		t.Fatalf("no event within 5s")
		return storage.Event{}, false
	}
}

func TestWatchCompactionBoundary(t *testing.T) {
	const size = 10
	idx := New(Options{WatchHistory: size})
	for i := range 25 {
		create(t, idx, fmt.Sprintf("/k/%02d", i))
	}
	// Revisions 16..25 are kept, so watching after 15 replays all of them.
	for _, tc := range []struct {
		name    string
		after   int64
		wantErr error
		first   int64
	}{
		{"before the history", 14, storage.ErrCompacted, 0},
		{"just before the oldest kept", 15, nil, 16},
		{"inside the history", 20, nil, 21},
		{"at the current revision", 25, nil, 0},
		{"in the future", 30, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ch, err := idx.Watch(ctx, "/k/", tc.after)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Watch(after %d): error %v, want %v", tc.after, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if tc.first == 0 {
				if n := len(ch); n != 0 {
					t.Errorf("%d events replayed, want none", n)
				}
				return
			}
			if n, want := len(ch), int(25-tc.after); n != want {
				t.Errorf("%d events replayed, want %d", n, want)
			}
			if ev, _ := recv(t, ch); ev.KV.ModRevision != tc.first {
				t.Errorf("first replayed revision %d, want %d", ev.KV.ModRevision, tc.first)
			}
		})
	}
}

func TestWatchFromFutureRevisionSkipsEarlierEvents(t *testing.T) {
	idx := New(Options{})
	create(t, idx, "/k/a")
	ch, err := idx.Watch(context.Background(), "/k/", 3)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	create(t, idx, "/k/b") // revision 2: not after 3
	create(t, idx, "/k/c") // revision 3: not after 3
	create(t, idx, "/k/d") // revision 4
	if ev, _ := recv(t, ch); ev.KV.ModRevision != 4 {
		t.Errorf("first event at revision %d, want 4", ev.KV.ModRevision)
	}
}

func TestSlowWatcherIsClosedWithoutBlockingWriters(t *testing.T) {
	idx := New(Options{WatchBuffer: 3})
	slow, err := idx.Watch(context.Background(), "/k/", 0)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	other, err := idx.Watch(context.Background(), "/other/", 0)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	for i := range 10 {
		create(t, idx, fmt.Sprintf("/k/%d", i))
	}
	// The slow watcher gets what fitted, then its channel is closed.
	for want := int64(1); want <= 3; want++ {
		ev, ok := recv(t, slow)
		if !ok || ev.KV.ModRevision != want {
			t.Fatalf("event %d: got revision %d (open %v)", want, ev.KV.ModRevision, ok)
		}
	}
	if _, ok := recv(t, slow); ok {
		t.Fatalf("slow watcher's channel still open")
	}
	// A watcher that was not behind is unaffected.
	if got := idx.Watchers(); got != 1 {
		t.Errorf("%d watchers left, want 1", got)
	}
	rev := create(t, idx, "/other/x")
	if ev, ok := recv(t, other); !ok || ev.KV.ModRevision != rev {
		t.Errorf("other watcher got revision %d (open %v), want %d", ev.KV.ModRevision, ok, rev)
	}
}

func TestReplayLargerThanBufferIsDelivered(t *testing.T) {
	idx := New(Options{WatchBuffer: 2, WatchHistory: 100})
	for i := range 50 {
		create(t, idx, fmt.Sprintf("/k/%d", i))
	}
	ch, err := idx.Watch(context.Background(), "/k/", 1)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	for want := int64(2); want <= 50; want++ {
		if ev, ok := recv(t, ch); !ok || ev.KV.ModRevision != want {
			t.Fatalf("replayed revision %d (open %v), want %d", ev.KV.ModRevision, ok, want)
		}
	}
}

func TestBatchSeesItsOwnWrites(t *testing.T) {
	idx := New(Options{})
	b := idx.NewBatch()
	steps := []struct {
		name    string
		op      Op
		wantErr error
		wantRev int64
	}{
		{"create", Op{Type: OpCreate, Key: "/k/a", Value: []byte("1")}, nil, 1},
		{"create again in the same batch", Op{Type: OpCreate, Key: "/k/a"}, storage.ErrKeyExists, 0},
		{"update with the staged revision", Op{Type: OpUpdate, Key: "/k/a", Value: []byte("2"), ExpectedRevision: 1}, nil, 2},
		{"update with a stale revision", Op{Type: OpUpdate, Key: "/k/a", ExpectedRevision: 1}, storage.ErrConflict, 0},
		{"delete", Op{Type: OpDelete, Key: "/k/a", ExpectedRevision: 2}, nil, 3},
		{"update after the delete", Op{Type: OpUpdate, Key: "/k/a"}, storage.ErrNotFound, 0},
		{"create after the delete", Op{Type: OpCreate, Key: "/k/a", Value: []byte("3")}, nil, 4},
	}
	for _, step := range steps {
		ev, err := b.Apply(step.op)
		if !errors.Is(err, step.wantErr) {
			t.Fatalf("%s: error %v, want %v", step.name, err, step.wantErr)
		}
		if err == nil && ev.KV.ModRevision != step.wantRev {
			t.Fatalf("%s: revision %d, want %d", step.name, ev.KV.ModRevision, step.wantRev)
		}
	}
	// Nothing is visible before Commit.
	if _, err := idx.Get(context.Background(), "/k/a"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get before Commit: %v, want ErrNotFound", err)
	}
	if err := idx.Commit(b); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	kv, err := idx.Get(context.Background(), "/k/a")
	if err != nil || string(kv.Value) != "3" || kv.CreateRevision != 4 || idx.Revision() != 4 {
		t.Fatalf("after Commit: %+v, %v, revision %d", kv, err, idx.Revision())
	}
}

func TestCommitRejectsStaleBatch(t *testing.T) {
	idx := New(Options{})
	stale := idx.NewBatch()
	if _, err := stale.Apply(Op{Type: OpCreate, Key: "/k/a"}); err != nil {
		t.Fatal(err)
	}
	create(t, idx, "/k/b")
	if err := idx.Commit(stale); err == nil {
		t.Fatalf("Commit of a batch opened before another commit succeeded")
	}
}

func TestRestore(t *testing.T) {
	idx := New(Options{})
	err := idx.Restore(42, func(put func(storage.KeyValue)) error {
		put(storage.KeyValue{Key: "/k/a", Value: []byte("a"), CreateRevision: 3, ModRevision: 40})
		put(storage.KeyValue{Key: "/k/b", Value: []byte("b"), CreateRevision: 7, ModRevision: 7})
		return nil
	})
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if idx.Revision() != 42 {
		t.Errorf("revision %d, want 42", idx.Revision())
	}
	if _, err := idx.Watch(context.Background(), "/k/", 41); !errors.Is(err, storage.ErrCompacted) {
		t.Errorf("Watch(after 41): %v, want ErrCompacted", err)
	}
	if _, err := idx.Watch(context.Background(), "/k/", 42); err != nil {
		t.Errorf("Watch(after 42): %v", err)
	}
	if rev := create(t, idx, "/k/c"); rev != 43 {
		t.Errorf("first write after Restore got revision %d, want 43", rev)
	}
	if err := idx.Restore(1, func(func(storage.KeyValue)) error { return nil }); err == nil {
		t.Errorf("Restore of a used index succeeded")
	}
}
