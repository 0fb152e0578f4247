package storagetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kjet-dev/kjet/internal/storage"
)

// nextEvent waits for the next event on ch.
func nextEvent(t testing.TB, ch <-chan *storage.Event) storage.Event {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatalf("watch channel closed while waiting for an event")
		}
		return *ev
	case <-timer.C:
		t.Fatalf("no event within %s", waitTimeout)
	}
	return storage.Event{}
}

// waitClosed drains ch until it is closed.
func waitClosed(t testing.TB, ch <-chan *storage.Event) {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timer.C:
			t.Fatalf("watch channel not closed within %s", waitTimeout)
		}
	}
}

// wantEvent describes an expected event.
type wantEvent struct {
	typ       storage.EventType
	key       string
	value     string
	createRev int64
	modRev    int64
	prev      *wantEvent // expected PrevKV (typ unused); nil means none
}

func checkEvent(t testing.TB, got storage.Event, want wantEvent) {
	t.Helper()
	if got.Type != want.typ {
		t.Errorf("event %q@%d: type %v, want %v", got.KV.Key, got.KV.ModRevision, got.Type, want.typ)
	}
	checkKV(t, "event KV", got.KV, want.key, want.value, want.createRev, want.modRev)
	switch {
	case want.prev == nil && got.PrevKV != nil:
		t.Errorf("event %q@%d: PrevKV %+v, want none", got.KV.Key, got.KV.ModRevision, *got.PrevKV)
	case want.prev != nil && got.PrevKV == nil:
		t.Errorf("event %q@%d: no PrevKV, want one", got.KV.Key, got.KV.ModRevision)
	case want.prev != nil:
		checkKV(t, "event PrevKV", *got.PrevKV, want.prev.key, want.prev.value, want.prev.createRev, want.prev.modRev)
	}
}

func testWatchFromNow(t *testing.T, s storage.Interface) {
	const key = "/registry/pods/default/a"
	mustCreate(t, s, key, "before")
	ch, err := s.Watch(t.Context(), "/registry/pods/", 0)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	rev := mustUpdate(t, s, key, "after", 0)
	ev := nextEvent(t, ch)
	if ev.KV.ModRevision != rev || string(ev.KV.Value) != "after" {
		t.Errorf("first event %q@%d %q, want the update at %d (nothing from before the watch)",
			ev.KV.Key, ev.KV.ModRevision, ev.KV.Value, rev)
	}
}

func testWatchReplay(t *testing.T, s storage.Interface) {
	ctx := context.Background()
	const a, b = "/registry/pods/default/a", "/registry/pods/default/b"
	// Start past revision 1 so that "after r1-1" is not "after 0" (which means now).
	mustCreate(t, s, "/registry/jobs/default/first", "x")
	r1 := mustCreate(t, s, a, "a1")
	r2 := mustUpdate(t, s, a, "a2", r1)
	r3 := mustCreate(t, s, b, "b1")
	del, err := s.Delete(ctx, a, r2)
	if err != nil {
		t.Fatalf("Delete: %v", err)
	}
	r4 := del.ModRevision
	r5 := mustUpdate(t, s, b, "b2", 0)

	a1 := wantEvent{key: a, value: "a1", createRev: r1, modRev: r1}
	a2 := wantEvent{typ: storage.EventPut, key: a, value: "a2", createRev: r1, modRev: r2, prev: &a1}
	b1 := wantEvent{key: b, value: "b1", createRev: r3, modRev: r3}
	history := []wantEvent{
		{typ: storage.EventPut, key: a, value: "a1", createRev: r1, modRev: r1},
		a2,
		{typ: storage.EventPut, key: b, value: "b1", createRev: r3, modRev: r3},
		{typ: storage.EventDelete, key: a, value: "a2", createRev: r1, modRev: r4, prev: &a2},
		{typ: storage.EventPut, key: b, value: "b2", createRev: r3, modRev: r5, prev: &b1},
	}
	cases := []struct {
		name  string
		after int64
		want  []wantEvent
		ch    <-chan *storage.Event
	}{
		{name: "from before the first write", after: r1 - 1, want: history},
		{name: "after the create", after: r1, want: history[1:]},
		{name: "after the delete", after: r4, want: history[4:]},
		{name: "from the current revision", after: r5},
	}
	for i := range cases {
		ch, err := s.Watch(t.Context(), "/registry/pods/", cases[i].after)
		if err != nil {
			t.Fatalf("Watch(after %d): %v", cases[i].after, err)
		}
		cases[i].ch = ch
	}
	// A marker written after every watch started proves nothing else is replayed.
	const marker = "/registry/pods/default/marker"
	rm := mustCreate(t, s, marker, "m")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, want := range tc.want {
				checkEvent(t, nextEvent(t, tc.ch), want)
			}
			checkEvent(t, nextEvent(t, tc.ch), wantEvent{typ: storage.EventPut, key: marker, value: "m", createRev: rm, modRev: rm})
		})
	}
}

func testWatchPrefix(t *testing.T, s storage.Interface) {
	ctx := t.Context()
	ch, err := s.Watch(ctx, "/registry/pods/default/", 0)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	for _, k := range []string{
		"/registry/pods/default2/x",
		"/registry/pods/kube-system/y",
		"/registry/batch/jobs/default/pi",
		"/registry/pods/default",
	} {
		mustCreate(t, s, k, "other")
	}
	rev := mustCreate(t, s, "/registry/pods/default/a", "mine")
	checkEvent(t, nextEvent(t, ch), wantEvent{typ: storage.EventPut, key: "/registry/pods/default/a", value: "mine", createRev: rev, modRev: rev})

	// The same holds for replay.
	replay, err := s.Watch(ctx, "/registry/pods/default/", 1)
	if err != nil {
		t.Fatalf("Watch(after 1): %v", err)
	}
	checkEvent(t, nextEvent(t, replay), wantEvent{typ: storage.EventPut, key: "/registry/pods/default/a", value: "mine", createRev: rev, modRev: rev})
}

func testWatchCompacted(t *testing.T, s storage.Interface) {
	ctx := t.Context()
	writeParallel(t, s, 8, (WatchHistory+64)/8, "/registry/pods/compact/")
	rev := s.Revision()
	for _, tc := range []struct {
		name    string
		after   int64
		wantErr error
		replay  int
	}{
		{"first revision", 1, storage.ErrCompacted, 0},
		{"recent revision", rev - 32, nil, 32},
		{"current", rev, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wctx, cancel := context.WithCancel(ctx)
			defer cancel()
			ch, err := s.Watch(wctx, "/registry/", tc.after)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Watch(after %d) at revision %d: error %v, want %v", tc.after, rev, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			for i := range tc.replay {
				if ev := nextEvent(t, ch); ev.KV.ModRevision != tc.after+1+int64(i) {
					t.Fatalf("replayed revision %d, want %d", ev.KV.ModRevision, tc.after+1+int64(i))
				}
			}
		})
	}
}

func testWatchCancel(t *testing.T, s storage.Interface) {
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := s.Watch(ctx, "/registry/", 0)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	cancel()
	waitClosed(t, ch)
	// Writes after the cancel neither block nor panic.
	mustCreate(t, s, "/registry/pods/default/a", "v")
	if _, err := s.Watch(ctx, "/registry/", 0); err == nil {
		t.Errorf("Watch with a cancelled context succeeded")
	}
}

// writeParallel creates workers×perWorker keys under prefix from workers goroutines and
// returns the revision each key got.
func writeParallel(t testing.TB, s storage.Interface, workers, perWorker int, prefix string) map[string]int64 {
	t.Helper()
	var (
		mu   sync.Mutex
		revs = make(map[string]int64)
		wg   sync.WaitGroup
		errs = make(chan error, workers)
	)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				key := fmt.Sprintf("%sw%d-%d", prefix, w, i)
				rev, err := s.Create(context.Background(), key, []byte(key))
				if err != nil {
					errs <- fmt.Errorf("Create(%q): %w", key, err)
					return
				}
				mu.Lock()
				revs[key] = rev
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return revs
}

func testWatchUnderConcurrency(t *testing.T, s storage.Interface) {
	const workers, perWorker = 8, 50
	ch, err := s.Watch(t.Context(), "/registry/jobs/", 0)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	// Receive concurrently with the writes, as a real watcher does.
	type seen struct {
		key string
		rev int64
	}
	got := make(chan []seen, 1)
	go func() {
		var out []seen
		timer := time.NewTimer(waitTimeout)
		defer timer.Stop()
		for len(out) < workers*perWorker {
			select {
			case ev, ok := <-ch:
				if !ok {
					got <- out
					return
				}
				out = append(out, seen{ev.KV.Key, ev.KV.ModRevision})
			case <-timer.C:
				got <- out
				return
			}
		}
		got <- out
	}()
	revs := writeParallel(t, s, workers, perWorker, "/registry/jobs/default/")
	events := <-got
	if len(events) != len(revs) {
		t.Fatalf("watch saw %d events, want %d", len(events), len(revs))
	}
	var last int64
	for _, ev := range events {
		if ev.rev <= last {
			t.Fatalf("event %q at revision %d after revision %d: not in order", ev.key, ev.rev, last)
		}
		last = ev.rev
		if revs[ev.key] != ev.rev {
			t.Errorf("event %q at revision %d, but Create returned %d", ev.key, ev.rev, revs[ev.key])
		}
	}
}

func testConcurrentCAS(t *testing.T, s storage.Interface) {
	const workers = 8
	increments := 200
	if testing.Short() {
		// Every successful increment is its own fsync on a durable store.
		increments = 25
	}
	const key = "/registry/counters/default/c"
	mustCreate(t, s, key, "0")
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for done := 0; done < increments; {
				kv, err := s.Get(ctx, key)
				if err != nil {
					errs <- err
					return
				}
				var n int
				if _, err := fmt.Sscan(string(kv.Value), &n); err != nil {
					errs <- fmt.Errorf("parsing %q: %w", kv.Value, err)
					return
				}
				_, err = s.Update(ctx, key, []byte(fmt.Sprint(n+1)), kv.ModRevision)
				switch {
				case err == nil:
					done++
				case errors.Is(err, storage.ErrConflict):
				default:
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := string(mustGet(t, s, key).Value); got != fmt.Sprint(workers*increments) {
		t.Errorf("counter = %s, want %d", got, workers*increments)
	}
}
