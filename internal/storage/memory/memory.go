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
	kvindex.Frontend
	idx *kvindex.Index
	// writeMu serialises writers: the index allows one open batch at a time.
	writeMu sync.Mutex
}

var _ storage.Interface = (*Store)(nil)

// New returns an empty store at revision 0.
func New(opts Options) *Store {
	s := &Store{idx: kvindex.New(kvindex.Options{
		WatchHistory: opts.WatchHistory,
		WatchBuffer:  opts.WatchBuffer,
	})}
	s.Frontend = kvindex.Frontend{Index: s.idx, Write: s.write}
	return s
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
