// Package bolt is kjet's embedded, durable storage.Interface: a bbolt file (state.db in
// the data dir) and its write-ahead log (state.db-wal) behind the shared in-memory index.
//
// Every key's value is kept in memory, so reads and watches never touch the disk. Writes
// go through one group-commit loop: concurrent writers are checked against the index,
// given consecutive revisions, appended to the write-ahead log as one record and
// fdatasynced together; each writer is answered only after that sync, and only then do
// readers and watchers see the change. Checkpoints move the logged batches into the
// bbolt file in one transaction (every CheckpointInterval, or sooner when the log grows
// past CheckpointBytes, and on Close); opening replays whatever the log holds beyond the
// file's revision (see wal.go). The file holds each key with a 16-byte header
// (CreateRevision and ModRevision) and the store-wide revision, which every batch
// (deletes included) advances, so revisions never go backwards across restarts. After a
// restart the watch history starts empty at the stored revision.
//
// Values returned by Get and List and carried by watch events are shared with the store
// and with other watchers: callers must not modify them. Values passed to writes are
// copied.
package bolt

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/kjet-dev/kjet/internal/storage"
	"github.com/kjet-dev/kjet/internal/storage/internal/kvindex"
)

// Options tunes a Store. The zero value gives the defaults.
type Options struct {
	// LockTimeout is how long Open waits for another process to release the file lock
	// before failing. Default 1s.
	LockTimeout time.Duration
	// MaxBatch caps how many writes go into one transaction. Default 1,000.
	MaxBatch int
	// WatchHistory is how many recent events are kept for watches from a past revision
	// (the history is not persisted). Default 10,000.
	WatchHistory int
	// WatchBuffer is how many events a watcher may fall behind before its watch is
	// closed. Default 1,000.
	WatchBuffer int
	// CheckpointInterval is how long committed writes may stay in the write-ahead log
	// only before they are moved into the bbolt file. Default 100ms.
	CheckpointInterval time.Duration
	// CheckpointBytes makes the next commit checkpoint once the log holds this much.
	// Default 16 MiB.
	CheckpointBytes int64
}

// Defaults for Options.
const (
	DefaultLockTimeout = time.Second
	DefaultMaxBatch    = 1000

	DefaultCheckpointInterval       = 100 * time.Millisecond
	DefaultCheckpointBytes    int64 = 16 << 20
)

func (o Options) withDefaults() Options {
	if o.LockTimeout <= 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = DefaultCheckpointInterval
	}
	if o.CheckpointBytes <= 0 {
		o.CheckpointBytes = DefaultCheckpointBytes
	}
	return o
}

// ErrLocked is returned (wrapped) by Open when another process holds the database.
var ErrLocked = errors.New("bolt: database is locked by another process")

// Bucket and key names in the file.
var (
	bucketKeys = []byte("keys")
	bucketMeta = []byte("meta")
	metaRev    = []byte("revision")
)

// headerSize is the size of the per-key header: CreateRevision then ModRevision, both
// big-endian uint64.
const headerSize = 16

// Store is a bbolt-backed storage.Interface. It is safe for concurrent use.
type Store struct {
	kvindex.Frontend
	path string
	opts Options
	db   *bbolt.DB
	idx  *kvindex.Index
	wal  *wal
	// pending are the events in the log and not yet in the bbolt file, in revision
	// order (the last one's ModRevision is the store's); only the commit loop touches
	// them (and load, before it starts).
	pending []storage.Event

	requests chan *request
	// stop ends the commit loop; done is closed when it has returned.
	stop context.CancelFunc
	done chan struct{}

	closeOnce sync.Once
	closeErr  error
}

var _ storage.Interface = (*Store)(nil)

// Open opens (creating if needed) the database at path and loads it into memory. It
// fails with ErrLocked (wrapped) if another process has it open.
func Open(path string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	_, statErr := os.Stat(path)
	_, walStatErr := os.Stat(path + walSuffix)
	created := errors.Is(statErr, os.ErrNotExist) || errors.Is(walStatErr, os.ErrNotExist)
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout: opts.LockTimeout,
		// As etcd does: keep the free-page list only in memory (it is rebuilt by a scan
		// on open), so each commit writes fewer pages.
		FreelistType:   bbolt.FreelistMapType,
		NoFreelistSync: true,
	})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("opening %s: waited %s: %w", path, opts.LockTimeout, ErrLocked)
		}
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	log, batches, err := openWAL(path + walSuffix)
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	// bbolt fsyncs the file but not the directory entry of a file it just created, nor
	// does a log sync make the log's own entry durable.
	if created {
		if err := syncDir(filepath.Dir(path)); err != nil {
			return nil, errors.Join(err, log.close(), db.Close())
		}
	}
	s := &Store{
		path: path,
		opts: opts,
		db:   db,
		wal:  log,
		idx: kvindex.New(kvindex.Options{
			WatchHistory: opts.WatchHistory,
			WatchBuffer:  opts.WatchBuffer,
		}),
		requests: make(chan *request, opts.MaxBatch),
		done:     make(chan struct{}),
	}
	s.Frontend = kvindex.Frontend{Index: s.idx, Write: s.write}
	if err := s.load(batches); err != nil {
		return nil, errors.Join(err, log.close(), db.Close())
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	go s.commitLoop(ctx)
	return s, nil
}

// syncDir fsyncs a directory so that a file created in it survives a power loss.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}

// load creates the buckets of a new file, moves the log's batches that the file lacks
// into it, and fills the index from the file.
func (s *Store) load(batches []walBatch) error {
	// Only a new file needs its buckets: a write transaction costs two fsyncs, which a
	// restart on an existing file should not pay.
	missing := false
	if err := s.db.View(func(tx *bbolt.Tx) error {
		missing = tx.Bucket(bucketKeys) == nil || tx.Bucket(bucketMeta) == nil
		return nil
	}); err != nil {
		return fmt.Errorf("initialising %s: %w", s.path, err)
	}
	if !missing {
		return s.replay(batches)
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketKeys, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("creating bucket %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("initialising %s: %w", s.path, err)
	}
	return s.replay(batches)
}

// replay moves the log's batches newer than the file's revision into the file (one
// synced transaction), starts the log over and fills the index.
func (s *Store) replay(batches []walBatch) error {
	var fileRev int64
	if err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		fileRev, err = storedRevision(tx)
		return err
	}); err != nil {
		return fmt.Errorf("loading %s: %w", s.path, err)
	}
	for _, b := range batches {
		if b.revision <= fileRev {
			continue
		}
		s.pending = append(s.pending, b.events...)
	}
	if err := s.checkpoint(); err != nil {
		return fmt.Errorf("replaying the write-ahead log of %s: %w", s.path, err)
	}
	return s.restore()
}

// restore fills the index from the file.
func (s *Store) restore() error {
	return s.db.View(func(tx *bbolt.Tx) error {
		rev, err := storedRevision(tx)
		if err != nil {
			return fmt.Errorf("loading %s: %w", s.path, err)
		}
		return s.idx.Restore(rev, func(put func(storage.KeyValue)) error {
			return tx.Bucket(bucketKeys).ForEach(func(k, v []byte) error {
				kv, err := decode(k, v)
				if err != nil {
					return fmt.Errorf("loading %s: %w", s.path, err)
				}
				put(kv)
				return nil
			})
		})
	})
}

// storedRevision reads the store-wide revision from the file (0 when there is none).
func storedRevision(tx *bbolt.Tx) (int64, error) {
	v := tx.Bucket(bucketMeta).Get(metaRev)
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("stored revision has %d bytes, want 8", len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// encode lays out a key's stored value: header then value.
func encode(kv storage.KeyValue) []byte {
	buf := make([]byte, headerSize+len(kv.Value))
	binary.BigEndian.PutUint64(buf[0:8], uint64(kv.CreateRevision))
	binary.BigEndian.PutUint64(buf[8:16], uint64(kv.ModRevision))
	copy(buf[headerSize:], kv.Value)
	return buf
}

// decode copies a stored key out of bbolt's memory map.
func decode(k, v []byte) (storage.KeyValue, error) {
	if len(v) < headerSize {
		return storage.KeyValue{}, fmt.Errorf("key %q: stored value has %d bytes, shorter than its header", k, len(v))
	}
	return storage.KeyValue{
		Key:            string(k),
		Value:          append(make([]byte, 0, len(v)-headerSize), v[headerSize:]...),
		CreateRevision: int64(binary.BigEndian.Uint64(v[0:8])),
		ModRevision:    int64(binary.BigEndian.Uint64(v[8:16])),
	}, nil
}

// Path is the database file's path.
func (s *Store) Path() string { return s.path }

// Close stops the commit loop (writes still queued fail with storage.ErrClosed), closes
// every watch and closes the file.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		<-s.done
		s.idx.Close()
		// The commit loop checkpointed on its way out; should that have failed, the
		// log still holds the writes and the next Open replays them.
		var errs []error
		if err := s.wal.close(); err != nil {
			errs = append(errs, fmt.Errorf("closing the write-ahead log of %s: %w", s.path, err))
		}
		if err := s.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing %s: %w", s.path, err))
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}
