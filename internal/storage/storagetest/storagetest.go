// Package storagetest is the conformance suite every storage.Interface backend must
// pass, plus shared benchmarks. A backend's tests call Run (and RunDurable if it keeps
// data across restarts) with a constructor for fresh stores.
package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kjet-dev/kjet/internal/storage"
)

// WatchHistory is the largest watch history a store under test may keep: the compaction
// case writes more events than this and expects the oldest to be gone. Stores must keep
// at least 32 events so that the replay cases work.
const WatchHistory = 256

// waitTimeout bounds every wait for an event.
const waitTimeout = 10 * time.Second

// Run runs the conformance suite. newStore must return a fresh, empty store (revision 0)
// that keeps between 32 and WatchHistory events of watch history; the suite closes it.
func Run(t *testing.T, newStore func(t *testing.T) storage.Interface) {
	open := func(t *testing.T) storage.Interface {
		s := newStore(t)
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	}
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, s storage.Interface)
	}{
		{"CreateGet", testCreateGet},
		{"Errors", testErrors},
		{"UpdatePreservesCreateRevision", testUpdate},
		{"DeleteReturnsLastValue", testDelete},
		{"RecreateAfterDelete", testRecreate},
		{"RevisionsIncrease", testRevisionsIncrease},
		{"List", testList},
		{"ListPages", testListPages},
		{"ValueIsCopied", testValueCopied},
		{"WatchFromNow", testWatchFromNow},
		{"WatchReplay", testWatchReplay},
		{"WatchPrefix", testWatchPrefix},
		{"WatchCompacted", testWatchCompacted},
		{"WatchCancel", testWatchCancel},
		{"ConcurrentCAS", testConcurrentCAS},
		{"WatchUnderConcurrency", testWatchUnderConcurrency},
		{"CancelledContext", testCancelledContext},
		{"Close", testClose},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open(t)) })
	}
}

func mustCreate(t testing.TB, s storage.Interface, key, value string) int64 {
	t.Helper()
	rev, err := s.Create(context.Background(), key, []byte(value))
	if err != nil {
		t.Fatalf("Create(%q): %v", key, err)
	}
	return rev
}

func mustUpdate(t testing.TB, s storage.Interface, key, value string, expected int64) int64 {
	t.Helper()
	rev, err := s.Update(context.Background(), key, []byte(value), expected)
	if err != nil {
		t.Fatalf("Update(%q, expected %d): %v", key, expected, err)
	}
	return rev
}

func mustGet(t testing.TB, s storage.Interface, key string) storage.KeyValue {
	t.Helper()
	kv, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return kv
}

// checkKV compares a KeyValue with what is expected.
func checkKV(t testing.TB, what string, got storage.KeyValue, key, value string, createRev, modRev int64) {
	t.Helper()
	if got.Key != key || string(got.Value) != value || got.CreateRevision != createRev || got.ModRevision != modRev {
		t.Errorf("%s = {%q %q create=%d mod=%d}, want {%q %q create=%d mod=%d}",
			what, got.Key, got.Value, got.CreateRevision, got.ModRevision, key, value, createRev, modRev)
	}
}

func testCreateGet(t *testing.T, s storage.Interface) {
	const key = "/registry/batch/jobs/default/pi"
	rev := mustCreate(t, s, key, "v1")
	if rev <= 0 {
		t.Fatalf("Create returned revision %d, want > 0", rev)
	}
	checkKV(t, "Get", mustGet(t, s, key), key, "v1", rev, rev)
	if got := s.Revision(); got != rev {
		t.Errorf("Revision() = %d, want %d", got, rev)
	}
	empty := mustCreate(t, s, key+"-empty", "")
	checkKV(t, "Get of empty value", mustGet(t, s, key+"-empty"), key+"-empty", "", empty, empty)
}

func testErrors(t *testing.T, s storage.Interface) {
	ctx := context.Background()
	const key = "/registry/pods/default/a"
	created := mustCreate(t, s, key, "v0")
	rev := mustUpdate(t, s, key, "v1", created)
	for _, tc := range []struct {
		name string
		op   func() error
		want error
	}{
		{"create existing", func() error { _, err := s.Create(ctx, key, []byte("x")); return err }, storage.ErrKeyExists},
		{"get missing", func() error { _, err := s.Get(ctx, key+"x"); return err }, storage.ErrNotFound},
		{"update missing", func() error { _, err := s.Update(ctx, key+"x", []byte("x"), 0); return err }, storage.ErrNotFound},
		{"update missing with revision", func() error { _, err := s.Update(ctx, key+"x", []byte("x"), rev); return err }, storage.ErrNotFound},
		{"update stale revision", func() error { _, err := s.Update(ctx, key, []byte("x"), created); return err }, storage.ErrConflict},
		{"update future revision", func() error { _, err := s.Update(ctx, key, []byte("x"), rev+1); return err }, storage.ErrConflict},
		{"delete missing", func() error { _, err := s.Delete(ctx, key+"x", 0); return err }, storage.ErrNotFound},
		{"delete stale revision", func() error { _, err := s.Delete(ctx, key, created); return err }, storage.ErrConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.op(); !errors.Is(err, tc.want) {
				t.Errorf("got error %v, want %v", err, tc.want)
			}
		})
	}
	// None of the failures changed anything.
	checkKV(t, "Get after failed writes", mustGet(t, s, key), key, "v1", created, rev)
	if got := s.Revision(); got != rev {
		t.Errorf("Revision() after failed writes = %d, want %d", got, rev)
	}
}

func testUpdate(t *testing.T, s storage.Interface) {
	const key = "/registry/pods/default/a"
	for _, tc := range []struct {
		name        string
		useExpected bool
	}{
		{"unconditional", false},
		{"with expected revision", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := key + "-" + fmt.Sprint(tc.useExpected)
			created := mustCreate(t, s, k, "v1")
			var expected int64
			if tc.useExpected {
				expected = created
			}
			rev := mustUpdate(t, s, k, "v2", expected)
			if rev <= created {
				t.Errorf("Update returned revision %d, want > %d", rev, created)
			}
			checkKV(t, "Get", mustGet(t, s, k), k, "v2", created, rev)
		})
	}
}

func testDelete(t *testing.T, s storage.Interface) {
	ctx := context.Background()
	for _, tc := range []struct {
		name        string
		useExpected bool
	}{
		{"unconditional", false},
		{"with expected revision", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "/registry/pods/default/" + fmt.Sprint(tc.useExpected)
			created := mustCreate(t, s, key, "v1")
			updated := mustUpdate(t, s, key, "v2", 0)
			var expected int64
			if tc.useExpected {
				expected = updated
			}
			kv, err := s.Delete(ctx, key, expected)
			if err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if kv.ModRevision <= updated {
				t.Errorf("Delete revision %d, want > %d", kv.ModRevision, updated)
			}
			checkKV(t, "Delete result", kv, key, "v2", created, kv.ModRevision)
			if got := s.Revision(); got != kv.ModRevision {
				t.Errorf("Revision() after delete = %d, want %d", got, kv.ModRevision)
			}
			if _, err := s.Get(ctx, key); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("Get after delete: error %v, want ErrNotFound", err)
			}
		})
	}
}

func testRecreate(t *testing.T, s storage.Interface) {
	const key = "/registry/pods/default/a"
	mustCreate(t, s, key, "v1")
	if _, err := s.Delete(context.Background(), key, 0); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	rev := mustCreate(t, s, key, "v2")
	checkKV(t, "Get of recreated key", mustGet(t, s, key), key, "v2", rev, rev)
}

func testRevisionsIncrease(t *testing.T, s storage.Interface) {
	ctx := context.Background()
	last := s.Revision()
	check := func(what string, rev int64) {
		t.Helper()
		if rev <= last {
			t.Fatalf("%s: revision %d, want > %d", what, rev, last)
		}
		if got := s.Revision(); got != rev {
			t.Fatalf("%s: Revision() = %d, want %d", what, got, rev)
		}
		last = rev
	}
	for i := range 7 {
		key := fmt.Sprintf("/registry/pods/default/p%d", i%2)
		check("create", mustCreate(t, s, key, "v"))
		check("update", mustUpdate(t, s, key, "v2", 0))
		kv, err := s.Delete(ctx, key, 0)
		if err != nil {
			t.Fatalf("Delete: %v", err)
		}
		check("delete", kv.ModRevision)
	}
}

func testValueCopied(t *testing.T, s storage.Interface) {
	const key = "/registry/pods/default/a"
	buf := []byte("original")
	if _, err := s.Create(context.Background(), key, buf); err != nil {
		t.Fatalf("Create: %v", err)
	}
	copy(buf, "XXXXXXXX")
	if got := mustGet(t, s, key); string(got.Value) != "original" {
		t.Errorf("value changed with the caller's buffer: %q", got.Value)
	}
}

func testCancelledContext(t *testing.T, s storage.Interface) {
	const key = "/registry/pods/default/a"
	rev := mustCreate(t, s, key, "v1")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		op   func() error
	}{
		{"create", func() error { _, err := s.Create(ctx, key+"x", []byte("x")); return err }},
		{"update", func() error { _, err := s.Update(ctx, key, []byte("x"), 0); return err }},
		{"delete", func() error { _, err := s.Delete(ctx, key, 0); return err }},
		{"get", func() error { _, err := s.Get(ctx, key); return err }},
		{"list", func() error { _, err := s.List(ctx, "/registry/", storage.ListOptions{}); return err }},
		{"watch", func() error { _, err := s.Watch(ctx, "/registry/", 0); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.op(); !errors.Is(err, context.Canceled) {
				t.Errorf("error %v, want context.Canceled", err)
			}
		})
	}
	if got := s.Revision(); got != rev {
		t.Errorf("Revision() after cancelled writes = %d, want %d", got, rev)
	}
}

func testClose(t *testing.T, s storage.Interface) {
	ctx := context.Background()
	mustCreate(t, s, "/registry/pods/default/a", "v")
	ch, err := s.Watch(ctx, "/registry/", 0)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	waitClosed(t, ch)
	if _, err := s.Create(ctx, "/registry/pods/default/b", nil); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("Create after Close: error %v, want ErrClosed", err)
	}
	if _, err := s.Get(ctx, "/registry/pods/default/a"); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("Get after Close: error %v, want ErrClosed", err)
	}
	if _, err := s.Watch(ctx, "/registry/", 0); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("Watch after Close: error %v, want ErrClosed", err)
	}
}

// keysOf returns the keys of kvs.
func keysOf(kvs []storage.KeyValue) []string {
	out := make([]string, len(kvs))
	for i, kv := range kvs {
		out[i] = kv.Key
	}
	return out
}

// sameKeys reports whether two key lists are equal.
func sameKeys(a, b []string) bool { return slices.Equal(a, b) }
