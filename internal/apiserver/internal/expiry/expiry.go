// Package expiry removes stored objects a fixed time after their last write: what
// etcd's leases do for Kubernetes' events (kube-apiserver's --event-ttl, one hour by
// default). Without it every event a node or controller ever wrote would stay in the
// store, and in its in-memory index, for good.
//
// The time to live is the same for every key, so the keys expire in the order they were
// written: a FIFO of (key, revision of the write, deadline) per prefix is all the state,
// fed by a watch. When an entry comes due, the key is deleted on the condition that it
// still has that revision; a key written again since has a later entry. Keys already
// stored when the Expirer starts get the whole time to live from then on, as etcd
// extends its leases when a member restarts. Due keys are deleted in small concurrent
// passes, so that a burst of them neither takes long nor leaves the watch unread.
package expiry

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/kjet-dev/kjet/internal/storage"
)

// Store is what the Expirer needs of the store.
type Store interface {
	List(ctx context.Context, prefix string, opts storage.ListOptions) (storage.ListResult, error)
	Watch(ctx context.Context, prefix string, afterRevision int64) (<-chan *storage.Event, error)
	Delete(ctx context.Context, key string, expectedRevision int64) (storage.KeyValue, error)
}

// listPage is how many keys one List call reads when the Expirer starts.
const listPage = 1000

// retryInterval is how long the Expirer waits after a failed list or watch.
const retryInterval = time.Second

// Expirer deletes the keys under its prefixes TTL after their last write.
type Expirer struct {
	store    Store
	prefixes []string
	ttl      time.Duration
	clock    clock.Clock
}

// New returns an Expirer for the keys under prefixes. ttl must be positive.
func New(store Store, prefixes []string, ttl time.Duration, c clock.Clock) (*Expirer, error) {
	if ttl <= 0 {
		return nil, fmt.Errorf("expiry: the time to live must be positive, got %v", ttl)
	}
	if c == nil {
		c = clock.RealClock{}
	}
	return &Expirer{store: store, prefixes: prefixes, ttl: ttl, clock: c}, nil
}

// Run expires keys until ctx ends.
func (e *Expirer) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, p := range e.prefixes {
		wg.Go(func() { e.runPrefix(ctx, p) })
	}
	wg.Wait()
}

// runPrefix follows one prefix. A watch that ends (its receiver fell behind) is
// resumed after the last revision seen, keeping the queue and its deadlines; only when
// that revision has left the store's history is the prefix listed again, the keys it
// finds added behind those already queued.
func (e *Expirer) runPrefix(ctx context.Context, prefix string) {
	logger := klog.FromContext(ctx).WithName("expiry")
	var queue []entry
	var revision int64
	listed := false
	for ctx.Err() == nil {
		err := func() error {
			if !listed {
				rev, err := e.list(ctx, prefix, func(kv storage.KeyValue) {
					queue = append(queue, entry{key: kv.Key, revision: kv.ModRevision, at: e.due()})
				})
				if err != nil {
					return err
				}
				revision, listed = rev, true
			}
			events, err := e.store.Watch(ctx, prefix, revision)
			if errors.Is(err, storage.ErrCompacted) {
				listed = false
				return nil
			}
			if err != nil {
				return fmt.Errorf("watching %s: %w", prefix, err)
			}
			queue, revision, err = e.follow(ctx, events, queue, revision)
			return err
		}()
		if err == nil || ctx.Err() != nil {
			continue
		}
		logger.Error(err, "Expiring keys; will retry", "prefix", prefix)
		t := e.clock.NewTimer(retryInterval)
		select {
		case <-ctx.Done():
		case <-t.C():
		}
		t.Stop()
	}
}

// entry is one write to expire: 32 bytes, one per event written in the last TTL (an
// hour of a busy node is millions of them).
type entry struct {
	key      string
	revision int64
	at       int64 // when it is due, in Unix nanoseconds
}

// follow adds the writes events brings to queue and deletes keys as they come due,
// until events ends, ctx ends or a delete fails. It returns the queue and the revision
// of the last event it took.
func (e *Expirer) follow(ctx context.Context, events <-chan *storage.Event, queue []entry, revision int64) ([]entry, int64, error) {
	var timer clock.Timer
	var armed int64
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	dueNow := make(chan time.Time) // closed: ready at once
	close(dueNow)
	for {
		var due <-chan time.Time
		switch {
		case len(queue) == 0:
		case queue[0].at <= e.clock.Now().UnixNano():
			due = dueNow
		default:
			if timer == nil || armed != queue[0].at {
				if timer != nil {
					timer.Stop()
				}
				timer, armed = e.clock.NewTimer(time.Duration(queue[0].at-e.clock.Now().UnixNano())), queue[0].at
			}
			due = timer.C()
		}
		select {
		case <-ctx.Done():
			return queue, revision, nil
		case ev, ok := <-events:
			if !ok {
				return queue, revision, nil
			}
			revision = ev.KV.ModRevision
			if ev.Type != storage.EventDelete {
				queue = append(queue, entry{key: ev.KV.Key, revision: ev.KV.ModRevision, at: e.due()})
			}
		case <-due:
			if timer != nil {
				timer.Stop()
			}
			timer, armed = nil, 0
			var err error
			if queue, err = e.expire(ctx, queue); err != nil {
				return queue, revision, err
			}
		}
	}
}

// due is when a key written now expires, in Unix nanoseconds.
func (e *Expirer) due() int64 { return e.clock.Now().Add(e.ttl).UnixNano() }

// list calls add for every key under prefix and returns the revision it read at.
func (e *Expirer) list(ctx context.Context, prefix string, add func(storage.KeyValue)) (int64, error) {
	opts := storage.ListOptions{Limit: listPage}
	var revision int64
	for {
		page, err := e.store.List(ctx, prefix, opts)
		if err != nil {
			return 0, fmt.Errorf("listing %s: %w", prefix, err)
		}
		if revision == 0 {
			revision = page.Revision
		}
		for _, kv := range page.Items {
			add(kv)
		}
		if !page.More || len(page.Items) == 0 {
			return revision, nil
		}
		opts.After = page.Items[len(page.Items)-1].Key
	}
}

// deleteBatch is how many due keys one pass deletes, all at once: the store commits
// concurrent writes together, and a pass that ends soon lets the watch be drained
// between passes (a watcher that falls behind is cut off).
const deleteBatch = 64

// expire deletes the keys of up to deleteBatch entries that are due and returns the
// rest of queue. A key written since its entry (a conflict) or already gone is left
// alone. If a delete fails, the pass's entries stay queued and the error is returned.
func (e *Expirer) expire(ctx context.Context, queue []entry) ([]entry, error) {
	now := e.clock.Now().UnixNano()
	n := 0
	for n < len(queue) && n < deleteBatch && queue[n].at <= now {
		n++
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ent := queue[i]
			_, err := e.store.Delete(ctx, ent.key, ent.revision)
			if err != nil && !errors.Is(err, storage.ErrConflict) && !errors.Is(err, storage.ErrNotFound) {
				errs[i] = fmt.Errorf("deleting expired %s: %w", ent.key, err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return queue, err
	}
	clear(queue[:n])
	return queue[n:], nil
}
