// Package memory is a storage.Interface kept only in memory: the shared in-memory index
// and watch hub with nothing behind them. It is for tests and for throw-away servers;
// everything is lost when the process ends.
//
// Values returned by Get and List and carried by watch events are shared with the store
// and with other watchers: callers must not modify them. Values passed to writes are
// copied.
package memory

import (
	"context"
	"sync"

	"github.com/kjet-dev/kjet/internal/storage"
	"github.com/kjet-dev/kjet/internal/storage/internal/kvindex"
)

// Options tunes a Store. The zero value gives the defaults.
type Options struct {
	// WatchHistory is how many recent events are kept for watches from a past revision.
	// Default 10,000.
	WatchHistory int
	// WatchBuffer is how many events a watcher may fall behind before its watch is
	// closed. Default 1,000.
	WatchBuffer int
}

// Store is an in-memory storage.Interface. It is safe for concurrent use.
type Store struct {
	idx *kvindex.Index
	// writeMu serialises writers: the index allows one open batch at a time.
	writeMu sync.Mutex
}

var _ storage.Interface = (*Store)(nil)

// New returns an empty store at revision 0.
func New(opts Options) *Store {
	return &Store{idx: kvindex.New(kvindex.Options{
		WatchHistory: opts.WatchHistory,
		WatchBuffer:  opts.WatchBuffer,
	})}
}

// Get implements storage.Reader.
func (s *Store) Get(ctx context.Context, key string) (storage.KeyValue, error) {
	return s.idx.Get(ctx, key)
}

// List implements storage.Reader.
func (s *Store) List(ctx context.Context, prefix string, opts storage.ListOptions) (storage.ListResult, error) {
	return s.idx.List(ctx, prefix, opts)
}

// Revision implements storage.Reader.
func (s *Store) Revision() int64 { return s.idx.Revision() }

// Watch implements storage.Watcher.
func (s *Store) Watch(ctx context.Context, prefix string, afterRevision int64) (<-chan storage.Event, error) {
	return s.idx.Watch(ctx, prefix, afterRevision)
}

// Create implements storage.Writer.
func (s *Store) Create(ctx context.Context, key string, value []byte) (int64, error) {
	ev, err := s.write(ctx, kvindex.Op{Type: kvindex.OpCreate, Key: key, Value: value})
	return ev.KV.ModRevision, err
}

// Update implements storage.Writer.
func (s *Store) Update(ctx context.Context, key string, value []byte, expectedRevision int64) (int64, error) {
	ev, err := s.write(ctx, kvindex.Op{Type: kvindex.OpUpdate, Key: key, Value: value, ExpectedRevision: expectedRevision})
	return ev.KV.ModRevision, err
}

// Delete implements storage.Writer.
func (s *Store) Delete(ctx context.Context, key string, expectedRevision int64) (storage.KeyValue, error) {
	ev, err := s.write(ctx, kvindex.Op{Type: kvindex.OpDelete, Key: key, ExpectedRevision: expectedRevision})
	return ev.KV, err
}

func (s *Store) write(ctx context.Context, op kvindex.Op) (storage.Event, error) {
	if err := ctx.Err(); err != nil {
		return storage.Event{}, err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.idx.Closed() {
		return storage.Event{}, storage.ErrClosed
	}
	b := s.idx.NewBatch()
	ev, err := b.Apply(op)
	if err != nil {
		return storage.Event{}, err
	}
	if err := s.idx.Commit(b); err != nil {
		return storage.Event{}, err
	}
	return ev, nil
}

// Close implements storage.Interface: watches are closed and later calls fail with
// storage.ErrClosed.
func (s *Store) Close() error {
	s.idx.Close()
	return nil
}
