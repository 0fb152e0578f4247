package storagetest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/kjet-dev/kjet/internal/storage"
)

// RunDurable checks that a backend keeps its state across a close and reopen. open must
// open (creating if needed) the store kept in dir; the suite closes what it opens.
func RunDurable(t *testing.T, open func(t *testing.T, dir string) storage.Interface) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, open func() storage.Interface)
	}{
		{"ReopenKeepsObjects", testReopenKeepsObjects},
		{"ReopenAfterDelete", testReopenAfterDelete},
		{"ReopenEmpty", testReopenEmpty},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.run(t, func() storage.Interface { return open(t, dir) })
		})
	}
}

func closeStore(t *testing.T, s storage.Interface) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func listAll(t *testing.T, s storage.Interface) storage.ListResult {
	t.Helper()
	res, err := s.List(context.Background(), "", storage.ListOptions{})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return res
}

func sameKVs(a, b []storage.KeyValue) bool {
	return slices.EqualFunc(a, b, func(x, y storage.KeyValue) bool {
		return x.Key == y.Key && string(x.Value) == string(y.Value) &&
			x.CreateRevision == y.CreateRevision && x.ModRevision == y.ModRevision
	})
}

func testReopenKeepsObjects(t *testing.T, open func() storage.Interface) {
	ctx := context.Background()
	s := open()
	createFixture(t, s)
	mustUpdate(t, s, "/registry/pods/default/a", "a2", 0)
	if _, err := s.Delete(ctx, "/registry/pods/default/b", 0); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	mustUpdate(t, s, "/registry/pods/default/c", "c2", 0)
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	if _, err := s.Create(ctx, "/registry/configmaps/default/big", big); err != nil {
		t.Fatalf("Create big: %v", err)
	}
	before := listAll(t, s)
	closeStore(t, s)

	s = open()
	defer closeStore(t, s)
	after := listAll(t, s)
	if !sameKVs(before.Items, after.Items) {
		t.Errorf("after reopen List = %v\nwant %v", keysOf(after.Items), keysOf(before.Items))
	}
	if after.Revision != before.Revision || s.Revision() != before.Revision {
		t.Errorf("after reopen revision = %d (List %d), want %d", s.Revision(), after.Revision, before.Revision)
	}
	rev := before.Revision

	// The history starts empty: an older revision is compacted, the current one is fine.
	if _, err := s.Watch(ctx, "/registry/", rev-1); !errors.Is(err, storage.ErrCompacted) {
		t.Errorf("Watch(after %d) after reopen at %d: error %v, want ErrCompacted", rev-1, rev, err)
	}
	ch, err := s.Watch(t.Context(), "/registry/", rev)
	if err != nil {
		t.Fatalf("Watch(after current %d): %v", rev, err)
	}
	next := mustUpdate(t, s, "/registry/pods/default/a", "a3", after.Items[slices.IndexFunc(after.Items, func(kv storage.KeyValue) bool {
		return kv.Key == "/registry/pods/default/a"
	})].ModRevision)
	if next != rev+1 {
		t.Errorf("first write after reopen got revision %d, want %d", next, rev+1)
	}
	if ev := nextEvent(t, ch); ev.KV.ModRevision != next {
		t.Errorf("watch after reopen saw revision %d, want %d", ev.KV.ModRevision, next)
	}
}

func testReopenAfterDelete(t *testing.T, open func() storage.Interface) {
	s := open()
	const key = "/registry/pods/default/a"
	mustCreate(t, s, key, "v")
	kv, err := s.Delete(context.Background(), key, 0)
	if err != nil {
		t.Fatalf("Delete: %v", err)
	}
	closeStore(t, s)

	s = open()
	defer closeStore(t, s)
	if got := s.Revision(); got != kv.ModRevision {
		t.Errorf("revision after reopen = %d, want the delete's %d", got, kv.ModRevision)
	}
	if rev := mustCreate(t, s, key, "v2"); rev <= kv.ModRevision {
		t.Errorf("create after reopen got revision %d, want > %d", rev, kv.ModRevision)
	}
}

func testReopenEmpty(t *testing.T, open func() storage.Interface) {
	closeStore(t, open())
	s := open()
	defer closeStore(t, s)
	if got := s.Revision(); got != 0 {
		t.Errorf("revision of a reopened empty store = %d, want 0", got)
	}
	if rev := mustCreate(t, s, "/registry/pods/default/a", "v"); rev != 1 {
		t.Errorf("first write got revision %d, want 1", rev)
	}
}
