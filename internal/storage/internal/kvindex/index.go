// Package kvindex is the in-memory heart shared by kjet's storage backends: an ordered
// index of the current value of every key, the store-wide revision counter, and a watch
// hub that keeps a bounded history of recent events for replay and fans every committed
// change out to live watchers.
//
// A backend serves every read and watch from an Index. It writes through Batches: it
// opens a Batch, applies operations to it (each is checked against the index plus the
// earlier operations of the same batch and gets the next revision), makes the batch
// durable if it needs to, and then Commits it, which makes the changes visible to readers
// and sends them to watchers. Only one batch may be open at a time: serialising writers
// is the backend's job (a mutex for the memory backend, the group-commit loop for bolt).
package kvindex

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/google/btree"

	"github.com/kjet-dev/kjet/internal/storage"
)

// Options tunes an Index. The zero value gives the defaults.
type Options struct {
	// WatchHistory is how many recent events are kept for watches that start from a past
	// revision. Default 10,000.
	WatchHistory int
	// WatchBuffer is the number of events a watcher's channel buffers beyond its replay;
	// a watcher whose buffer is full is closed (writers never wait for readers).
	// Default 1,000.
	WatchBuffer int
}

// Defaults for Options.
const (
	DefaultWatchHistory = 10000
	DefaultWatchBuffer  = 1000
)

func (o Options) withDefaults() Options {
	if o.WatchHistory <= 0 {
		o.WatchHistory = DefaultWatchHistory
	}
	if o.WatchBuffer <= 0 {
		o.WatchBuffer = DefaultWatchBuffer
	}
	return o
}

// btreeDegree is the B-tree's node degree; 32 keeps nodes within a few cache lines of
// pointers and the tree shallow for millions of keys.
const btreeDegree = 32

func lessKey(a, b storage.KeyValue) bool { return a.Key < b.Key }

// Index holds the current state of a store and its watchers.
type Index struct {
	opts Options

	// mu guards every field below. Readers take it shared; Commit, Watch and watcher
	// removal take it exclusively. Events are sent to watchers while it is held, so a
	// watcher's channel is never closed during a send.
	mu       sync.RWMutex
	tree     *btree.BTreeG[storage.KeyValue]
	rev      int64
	closed   bool
	history  history
	watchers map[*watcher]struct{}
}

// New returns an empty index at revision 0.
func New(opts Options) *Index {
	opts = opts.withDefaults()
	return &Index{
		opts:     opts,
		tree:     btree.NewG(btreeDegree, lessKey),
		history:  newHistory(opts.WatchHistory),
		watchers: make(map[*watcher]struct{}),
	}
}

// Restore loads a persisted state into an empty, unused index: load calls put once per
// key, and rev is the store's revision. The event history starts empty at rev, so a watch
// from an older revision gets storage.ErrCompacted.
func (idx *Index) Restore(rev int64, load func(put func(storage.KeyValue)) error) error {
	idx.mu.Lock()
	defer idx.mu.Unlock()
	if idx.rev != 0 || idx.tree.Len() != 0 {
		return fmt.Errorf("restoring index: index already holds revision %d", idx.rev)
	}
	var maxRev int64
	err := load(func(kv storage.KeyValue) {
		idx.tree.ReplaceOrInsert(kv)
		maxRev = max(maxRev, kv.ModRevision)
	})
	if err != nil {
		idx.tree.Clear(false)
		return fmt.Errorf("restoring index: %w", err)
	}
	idx.rev = max(rev, maxRev)
	idx.history.reset(idx.rev)
	return nil
}

// Revision returns the revision of the last committed write.
func (idx *Index) Revision() int64 {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	return idx.rev
}

// Get returns the current value of key. The returned Value must not be modified.
func (idx *Index) Get(ctx context.Context, key string) (storage.KeyValue, error) {
	if err := ctx.Err(); err != nil {
		return storage.KeyValue{}, err
	}
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	if idx.closed {
		return storage.KeyValue{}, storage.ErrClosed
	}
	kv, ok := idx.tree.Get(storage.KeyValue{Key: key})
	if !ok {
		return storage.KeyValue{}, fmt.Errorf("get %q: %w", key, storage.ErrNotFound)
	}
	return kv, nil
}

// List returns the keys under prefix in key order, a page at a time. The returned Values
// must not be modified.
func (idx *Index) List(ctx context.Context, prefix string, opts storage.ListOptions) (storage.ListResult, error) {
	if err := ctx.Err(); err != nil {
		return storage.ListResult{}, err
	}
	start := prefix
	if opts.After != "" && opts.After >= start {
		// The smallest key strictly greater than After.
		start = opts.After + "\x00"
	}
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	if idx.closed {
		return storage.ListResult{}, storage.ErrClosed
	}
	res := storage.ListResult{Revision: idx.rev}
	if opts.Limit > 0 {
		res.Items = make([]storage.KeyValue, 0, min(opts.Limit, 1024))
	}
	idx.tree.AscendGreaterOrEqual(storage.KeyValue{Key: start}, func(kv storage.KeyValue) bool {
		if !strings.HasPrefix(kv.Key, prefix) {
			return false
		}
		if opts.Limit > 0 && int64(len(res.Items)) == opts.Limit {
			res.More = true
			return false
		}
		res.Items = append(res.Items, kv)
		return true
	})
	return res, nil
}

// Close marks the index closed and closes every watcher's channel. Later calls fail with
// storage.ErrClosed.
func (idx *Index) Close() {
	idx.mu.Lock()
	defer idx.mu.Unlock()
	idx.closed = true
	for w := range idx.watchers {
		idx.removeLocked(w)
	}
}

// Closed reports whether Close was called.
func (idx *Index) Closed() bool {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	return idx.closed
}
