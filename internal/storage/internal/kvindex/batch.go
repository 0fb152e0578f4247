package kvindex

import (
	"fmt"

	"github.com/kjet-dev/kjet/internal/storage"
)

// OpType says what an Op does.
type OpType int

// The write operations of storage.Writer.
const (
	OpCreate OpType = iota
	OpUpdate
	OpDelete
)

func (t OpType) String() string {
	switch t {
	case OpCreate:
		return "create"
	case OpUpdate:
		return "update"
	case OpDelete:
		return "delete"
	}
	return fmt.Sprintf("OpType(%d)", int(t))
}

// Op is one write. Value is ignored for deletes. ExpectedRevision, when non-zero, must be
// the key's ModRevision for updates and deletes.
type Op struct {
	Type             OpType
	Key              string
	Value            []byte
	ExpectedRevision int64
}

// staged is a key's state as seen by a batch: its value, or deleted.
type staged struct {
	kv      storage.KeyValue
	deleted bool
}

// Batch collects writes to commit together. Its methods are not safe for concurrent use.
type Batch struct {
	idx    *Index
	base   int64
	staged map[string]staged
	events []storage.Event
}

// NewBatch opens a batch on top of the index's current revision. The caller must not
// open another batch, or commit anything else, until this one is committed or dropped.
func (idx *Index) NewBatch() *Batch {
	return &Batch{idx: idx, base: idx.Revision()}
}

// Len is the number of writes in the batch.
func (b *Batch) Len() int { return len(b.events) }

// Events returns the batch's events in revision order. They must not be modified.
func (b *Batch) Events() []storage.Event { return b.events }

// Revision is the revision the store will have once the batch is committed.
func (b *Batch) Revision() int64 { return b.base + int64(len(b.events)) }

// lookup returns key's state as of the batch's latest write.
func (b *Batch) lookup(key string) (storage.KeyValue, bool) {
	if s, ok := b.staged[key]; ok {
		return s.kv, !s.deleted
	}
	b.idx.mu.RLock()
	defer b.idx.mu.RUnlock()
	return b.idx.tree.Get(storage.KeyValue{Key: key})
}

// Apply checks op against the index and the batch's earlier writes and, if it holds,
// adds it to the batch with the next revision. It returns the event the write will
// produce; errors are storage.ErrKeyExists, ErrNotFound or ErrConflict (wrapped), and a
// failed op leaves the batch as it was. Apply copies op.Value.
func (b *Batch) Apply(op Op) (storage.Event, error) {
	if op.Key == "" {
		return storage.Event{}, fmt.Errorf("%s: empty key", op.Type)
	}
	cur, exists := b.lookup(op.Key)
	rev := b.Revision() + 1
	var ev storage.Event
	switch op.Type {
	case OpCreate:
		if exists {
			return ev, fmt.Errorf("create %q: %w", op.Key, storage.ErrKeyExists)
		}
		ev = storage.Event{Type: storage.EventPut, KV: storage.KeyValue{
			Key: op.Key, Value: cloneBytes(op.Value), CreateRevision: rev, ModRevision: rev,
		}}
	case OpUpdate, OpDelete:
		if !exists {
			return ev, fmt.Errorf("%s %q: %w", op.Type, op.Key, storage.ErrNotFound)
		}
		if op.ExpectedRevision != 0 && op.ExpectedRevision != cur.ModRevision {
			return ev, fmt.Errorf("%s %q: expected revision %d, current is %d: %w",
				op.Type, op.Key, op.ExpectedRevision, cur.ModRevision, storage.ErrConflict)
		}
		prev := cur
		if op.Type == OpUpdate {
			ev = storage.Event{Type: storage.EventPut, PrevKV: &prev, KV: storage.KeyValue{
				Key: op.Key, Value: cloneBytes(op.Value), CreateRevision: cur.CreateRevision, ModRevision: rev,
			}}
		} else {
			ev = storage.Event{Type: storage.EventDelete, PrevKV: &prev, KV: storage.KeyValue{
				Key: op.Key, Value: cur.Value, CreateRevision: cur.CreateRevision, ModRevision: rev,
			}}
		}
	default:
		return ev, fmt.Errorf("apply %q: unknown operation %v", op.Key, op.Type)
	}
	if b.staged == nil {
		b.staged = make(map[string]staged)
	}
	b.staged[op.Key] = staged{kv: ev.KV, deleted: ev.Type == storage.EventDelete}
	b.events = append(b.events, ev)
	return ev, nil
}

// Commit makes the batch's writes visible to readers, records them in the watch history
// and sends them to watchers. It fails if the index moved since the batch was opened
// (the single-writer rule was broken) or was closed.
func (idx *Index) Commit(b *Batch) error {
	if b.idx != idx {
		return fmt.Errorf("committing batch: batch belongs to another index")
	}
	if len(b.events) == 0 {
		return nil
	}
	idx.mu.Lock()
	defer idx.mu.Unlock()
	if idx.closed {
		return storage.ErrClosed
	}
	if idx.rev != b.base {
		return fmt.Errorf("committing batch opened at revision %d: index is at revision %d", b.base, idx.rev)
	}
	for i := range b.events {
		ev := &b.events[i] // shared by the history and the watchers from here on
		if ev.Type == storage.EventDelete {
			idx.tree.Delete(storage.KeyValue{Key: ev.KV.Key})
		} else {
			idx.tree.ReplaceOrInsert(ev.KV)
		}
		idx.rev = ev.KV.ModRevision
		idx.history.add(ev)
		idx.fanOutLocked(ev)
	}
	return nil
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return append(make([]byte, 0, len(b)), b...)
}
