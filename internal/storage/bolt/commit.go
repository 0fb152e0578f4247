package bolt

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/kjet-dev/kjet/internal/storage"
	"github.com/kjet-dev/kjet/internal/storage/internal/kvindex"
)

// request is one writer waiting for the commit loop.
type request struct {
	op kvindex.Op
	// result receives exactly one reply; it is buffered so the loop never waits.
	result chan result
}

type result struct {
	ev  storage.Event
	err error
}

// write queues op for the commit loop and waits for its outcome. If ctx ends while the
// write is queued or being committed, write returns ctx's error and the write may or may
// not have happened (as with any networked store).
func (s *Store) write(ctx context.Context, op kvindex.Op) (storage.Event, error) {
	if err := ctx.Err(); err != nil {
		return storage.Event{}, err
	}
	// bbolt would fail the whole transaction on a key or value it cannot store: refuse
	// them here so one bad write cannot fail its neighbours in the batch.
	if len(op.Key) > bbolt.MaxKeySize {
		return storage.Event{}, fmt.Errorf("%s %.64q...: key is %d bytes, more than %d", op.Type, op.Key, len(op.Key), bbolt.MaxKeySize)
	}
	if len(op.Value)+headerSize > bbolt.MaxValueSize {
		return storage.Event{}, fmt.Errorf("%s %q: value is %d bytes, more than %d", op.Type, op.Key, len(op.Value), bbolt.MaxValueSize-headerSize)
	}
	req := &request{op: op, result: make(chan result, 1)}
	select {
	case s.requests <- req:
	case <-s.done:
		return storage.Event{}, storage.ErrClosed
	case <-ctx.Done():
		return storage.Event{}, ctx.Err()
	}
	select {
	case r := <-req.result:
		return r.ev, r.err
	case <-s.done:
		// The loop answers every request it took before it stops; one queued after it
		// drained the queue gets no answer.
		select {
		case r := <-req.result:
			return r.ev, r.err
		default:
			return storage.Event{}, storage.ErrClosed
		}
	case <-ctx.Done():
		return storage.Event{}, ctx.Err()
	}
}

// commitLoop is the store's only writer. It takes whatever requests are queued (up to
// MaxBatch), commits them as one synced log record and answers them; requests that
// arrive during a sync make up the next batch, so throughput grows with the number of
// concurrent writers. It also checkpoints: CheckpointInterval after the first write the
// bbolt file lacks, sooner when the log reaches CheckpointBytes, and when it stops.
func (s *Store) commitLoop(ctx context.Context) {
	defer close(s.done)
	batch := make([]*request, 0, s.opts.MaxBatch)
	due := time.NewTimer(s.opts.CheckpointInterval)
	due.Stop()
	armed := false
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			s.failQueued()
			// An error leaves the writes in the log, which the next Open replays.
			_ = s.checkpoint()
			return
		case <-due.C:
			armed = false
			if err := s.checkpoint(); err != nil {
				due.Reset(s.opts.CheckpointInterval) // the log keeps the writes; retry
				armed = true
			}
			continue
		case req := <-s.requests:
			batch = append(batch, req)
		}
	drain:
		for len(batch) < s.opts.MaxBatch {
			select {
			case req := <-s.requests:
				batch = append(batch, req)
			default:
				break drain
			}
		}
		s.commit(batch)
		switch {
		case len(s.pending) == 0:
		case s.wal.off >= s.opts.CheckpointBytes:
			if err := s.checkpoint(); err == nil && armed {
				due.Stop()
				armed = false
			}
		case !armed:
			due.Reset(s.opts.CheckpointInterval)
			armed = true
		}
	}
}

// failQueued answers every queued request with storage.ErrClosed.
func (s *Store) failQueued() {
	for {
		select {
		case req := <-s.requests:
			req.result <- result{err: storage.ErrClosed}
		default:
			return
		}
	}
}

// commit applies one batch of requests: checks each against the index, persists the
// ones that hold in one transaction, publishes them and answers every request.
func (s *Store) commit(reqs []*request) {
	b := s.idx.NewBatch()
	results := make([]result, len(reqs))
	for i, req := range reqs {
		results[i].ev, results[i].err = b.Apply(req.op)
	}
	if b.Len() > 0 {
		err := s.persist(b)
		if err == nil {
			err = s.idx.Commit(b)
		}
		if err != nil {
			for i := range results {
				if results[i].err == nil {
					results[i] = result{err: err}
				}
			}
		}
	}
	for i, req := range reqs {
		req.result <- results[i]
	}
}

// persist makes a batch durable: one record appended to the write-ahead log and synced.
// Its events join those the next checkpoint moves into the bbolt file.
func (s *Store) persist(b *kvindex.Batch) error {
	if err := s.wal.append(b.Revision(), b.Events()); err != nil {
		return fmt.Errorf("committing %d writes to %s: %w", b.Len(), s.path, err)
	}
	s.pending = append(s.pending, b.Events()...)
	return nil
}

// checkpoint moves the pending events into the bbolt file in one transaction (bbolt
// syncs it before Update returns) and then starts the log over.
func (s *Store) checkpoint() error {
	if len(s.pending) > 0 {
		err := s.db.Update(func(tx *bbolt.Tx) error {
			keys := tx.Bucket(bucketKeys)
			for _, ev := range s.pending {
				if ev.Type == storage.EventDelete {
					if err := keys.Delete([]byte(ev.KV.Key)); err != nil {
						return fmt.Errorf("deleting %q: %w", ev.KV.Key, err)
					}
					continue
				}
				if err := keys.Put([]byte(ev.KV.Key), encode(ev.KV)); err != nil {
					return fmt.Errorf("writing %q: %w", ev.KV.Key, err)
				}
			}
			var rev [8]byte
			binary.BigEndian.PutUint64(rev[:], uint64(s.pending[len(s.pending)-1].KV.ModRevision))
			if err := tx.Bucket(bucketMeta).Put(metaRev, rev[:]); err != nil {
				return fmt.Errorf("writing revision: %w", err)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("checkpointing %d writes into %s: %w", len(s.pending), s.path, err)
		}
		s.pending = nil
	}
	s.wal.reset()
	return nil
}
