package expiry

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/kjet-dev/kjet/internal/storage"
	"github.com/kjet-dev/kjet/internal/storage/memory"
)

const (
	ttl    = time.Hour
	prefix = "/registry/core/events/"
)

// syncedStore hands the Expirer its watch events one at a time and reports when the
// Expirer has taken each in: after every event it sends a no-op one (the delete of a
// key nobody wrote, at the same revision), which the Expirer receives only once it is
// done with the first. A send on cut ends the current watch, as the store ends the
// watch of a receiver that fell behind.
type syncedStore struct {
	*memory.Store
	watching chan struct{} // receives once the Expirer has listed and watches
	taken    chan struct{} // receives once per event the Expirer has taken in
	cut      chan struct{}
}

func (s *syncedStore) Watch(ctx context.Context, p string, after int64) (<-chan *storage.Event, error) {
	in, err := s.Store.Watch(ctx, p, after)
	if err != nil {
		return nil, err
	}
	out := make(chan *storage.Event)
	go func() {
		defer close(out)
		for {
			var ev *storage.Event
			select {
			case ev = <-in:
			case <-s.cut:
				return
			case <-ctx.Done():
				return
			}
			noop := &storage.Event{Type: storage.EventDelete, KV: storage.KeyValue{Key: p + "none", ModRevision: ev.KV.ModRevision}}
			for _, e := range []*storage.Event{ev, noop} {
				select {
				case out <- e:
				case <-ctx.Done():
					return
				}
			}
			s.taken <- struct{}{}
		}
	}()
	select {
	case s.watching <- struct{}{}:
	default:
	}
	return out, nil
}

type fixture struct {
	t      *testing.T
	ctx    context.Context
	cancel context.CancelFunc
	store  *syncedStore
	clock  *clocktesting.FakeClock
}

func newFixture(t *testing.T) *fixture {
	ctx, cancel := context.WithCancel(context.Background())
	f := &fixture{
		t:      t,
		ctx:    ctx,
		cancel: cancel,
		store:  &syncedStore{Store: memory.New(memory.Options{}), watching: make(chan struct{}, 1), taken: make(chan struct{}, 1000), cut: make(chan struct{})},
		clock:  clocktesting.NewFakeClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)),
	}
	t.Cleanup(cancel)
	return f
}

// start runs an Expirer until the test ends and waits until it watches.
func (f *fixture) start() {
	e, err := New(f.store, []string{prefix}, ttl, f.clock)
	if err != nil {
		f.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); e.Run(f.ctx) }()
	// Cleanups run last first: the context ends, then Run returns, then the store closes.
	f.t.Cleanup(func() { _ = f.store.Close() })
	f.t.Cleanup(func() { <-done })
	f.t.Cleanup(f.cancel)
	<-f.store.watching
}

// write creates or updates key and, once the Expirer runs, waits until it took the
// write in.
func (f *fixture) write(key string, started bool) {
	f.t.Helper()
	if _, err := f.store.Get(f.ctx, key); errors.Is(err, storage.ErrNotFound) {
		_, err = f.store.Create(f.ctx, key, []byte("v"))
		if err != nil {
			f.t.Fatal(err)
		}
	} else if _, err := f.store.Update(f.ctx, key, []byte("v2"), 0); err != nil {
		f.t.Fatal(err)
	}
	if started {
		<-f.store.taken
	}
}

func (f *fixture) exists(key string) bool {
	_, err := f.store.Get(f.ctx, key)
	return err == nil
}

// eventuallyGone polls until key is deleted.
func (f *fixture) eventuallyGone(key string) {
	f.t.Helper()
	err := wait.PollUntilContextTimeout(f.ctx, time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return !f.exists(key), nil
	})
	if err != nil {
		f.t.Fatalf("%s was not deleted", key)
	}
}

// kept waits until the Expirer has armed its timer again (after one fired, so it is
// done with what was due) and fails the test with why if key is gone.
func (f *fixture) kept(key, why string) {
	f.t.Helper()
	err := wait.PollUntilContextTimeout(f.ctx, time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return f.clock.HasWaiters(), nil
	})
	if err != nil {
		f.t.Fatal("the Expirer did not wait for its next key")
	}
	if !f.exists(key) {
		f.t.Fatal(why)
	}
}

// expireInTurn steps the clock half a TTL at a time: first, due at the first step,
// goes; later, written half a TTL after it, stays until the second.
func (f *fixture) expireInTurn(first, later string) {
	f.t.Helper()
	f.clock.Step(ttl / 2)
	f.eventuallyGone(first)
	f.kept(later, "a later key was deleted with the earlier one")
	f.clock.Step(ttl / 2)
	f.eventuallyGone(later)
}

func TestKeyExpiresTTLAfterItsLastWrite(t *testing.T) {
	f := newFixture(t)
	f.start()
	key, other := prefix+"default/a", "/registry/core/pods/default/a"
	f.write(key, true)
	f.write(other, false)

	f.clock.Step(ttl - time.Second)
	if !f.exists(key) {
		t.Fatal("deleted before its time to live")
	}
	f.clock.Step(time.Second)
	f.eventuallyGone(key)
	if !f.exists(other) {
		t.Error("a key outside the prefix was deleted")
	}
}

func TestRewrittenKeyLivesOn(t *testing.T) {
	f := newFixture(t)
	f.start()
	key := prefix + "default/a"
	f.write(key, true)
	f.clock.Step(ttl / 2)
	f.write(key, true)

	f.clock.Step(ttl / 2) // the first write's entry is due, but the key changed since
	f.kept(key, "deleted on the time to live of a write that was not its last")
	f.clock.Step(ttl / 2)
	f.eventuallyGone(key)
}

func TestKeysStoredBeforeStartGetTheWholeTTL(t *testing.T) {
	f := newFixture(t)
	old := prefix + "default/old"
	f.write(old, false)
	f.clock.Step(2 * ttl)
	f.start()
	later := prefix + "default/later"
	f.clock.Step(ttl / 2)
	f.write(later, true)

	if !f.exists(old) {
		t.Fatal("a key stored before the start was deleted at once")
	}
	f.expireInTurn(old, later)
}

func TestKeyDeletedByOthersIsSkipped(t *testing.T) {
	f := newFixture(t)
	f.start()
	gone, kept := prefix+"default/gone", prefix+"default/kept"
	f.write(gone, true)
	f.write(kept, true)
	if _, err := f.store.Delete(f.ctx, gone, 0); err != nil {
		t.Fatal(err)
	}
	<-f.store.taken // the delete's watch event
	f.clock.Step(ttl)
	f.eventuallyGone(kept)
}

func TestWatchThatEndsIsResumedWithItsDeadlines(t *testing.T) {
	f := newFixture(t)
	f.start()
	key := prefix + "default/a"
	f.write(key, true)
	f.clock.Step(ttl / 2)
	f.store.cut <- struct{}{}
	<-f.store.watching // watching again, from the last revision seen
	later := prefix + "default/later"
	f.write(later, true) // the resumed watch delivers what came after

	f.expireInTurn(key, later) // key on the deadline of its write, not TTL after the resumption
}

func TestManyDueKeysAreAllDeleted(t *testing.T) {
	f := newFixture(t)
	f.start()
	const n = 3*deleteBatch + 1
	for i := range n {
		f.write(fmt.Sprintf("%sdefault/k%d", prefix, i), true)
	}
	f.clock.Step(ttl)
	err := wait.PollUntilContextTimeout(f.ctx, time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		res, err := f.store.List(f.ctx, prefix, storage.ListOptions{})
		return err == nil && len(res.Items) == 0, nil
	})
	if err != nil {
		t.Fatalf("not every due key was deleted in passes of %d", deleteBatch)
	}
}

func TestNewRejectsANonPositiveTTL(t *testing.T) {
	if _, err := New(memory.New(memory.Options{}), []string{prefix}, 0, nil); err == nil {
		t.Error("New accepted a zero time to live")
	}
}
