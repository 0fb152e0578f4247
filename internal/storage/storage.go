// Package storage defines kjet's revisioned key/value store: the one place where API
// objects are kept. It is modelled on etcd's KV and watch API: every write gets a new
// store-wide revision, a revision is what the API server hands out as resourceVersion,
// writes can be made conditional on the revision a client last saw (compare-and-swap),
// and watches replay every change after a revision in order, from a bounded history.
//
// Backends live in sub-packages (bolt for the embedded default, memory for tests); the
// conformance suite in storagetest runs against each of them.
package storage

import (
	"context"
	"errors"
)

// Errors returned by every backend. Callers decide with errors.Is.
var (
	// ErrNotFound: the key does not exist.
	ErrNotFound = errors.New("storage: key not found")
	// ErrKeyExists: Create found the key already present.
	ErrKeyExists = errors.New("storage: key already exists")
	// ErrConflict: a conditional write's expected revision is not the key's current one.
	ErrConflict = errors.New("storage: revision conflict")
	// ErrCompacted: a watch or read asked for a revision older than the retained history.
	ErrCompacted = errors.New("storage: revision compacted")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("storage: closed")
)

// KeyValue is one version of one key.
type KeyValue struct {
	Key   string
	Value []byte
	// CreateRevision is the revision at which the key was (last) created.
	CreateRevision int64
	// ModRevision is the revision of the last write to the key; it is the object's
	// resourceVersion.
	ModRevision int64
}

// EventType says what happened to a key.
type EventType int

const (
	// EventPut is a create or an update (a create has KV.CreateRevision == KV.ModRevision).
	EventPut EventType = iota
	// EventDelete removes the key; KV holds the value it had, with ModRevision set to the
	// revision of the delete.
	EventDelete
)

// Event is one change seen by a watch.
type Event struct {
	Type EventType
	KV   KeyValue
	// PrevKV is the value before this change (nil for a create). Watches that filter
	// by label or field use it to turn "stopped matching" into a delete.
	PrevKV *KeyValue
}

// ListOptions narrows a List.
type ListOptions struct {
	// Limit caps the number of items returned; 0 means no limit.
	Limit int64
	// After, when set, starts the listing strictly after this key (for pagination).
	After string
}

// ListResult is one page of a List.
type ListResult struct {
	Items []KeyValue
	// Revision is the store's revision at which the page was read.
	Revision int64
	// More is true when keys remain after the last item returned.
	More bool
}

// Reader is the read side of a store. Reads are served from memory in every backend.
type Reader interface {
	// Get returns the current value of key, or ErrNotFound.
	Get(ctx context.Context, key string) (KeyValue, error)
	// List returns the keys with the given prefix, in key order.
	List(ctx context.Context, prefix string, opts ListOptions) (ListResult, error)
	// Revision is the store's current revision (the revision of the last write).
	Revision() int64
}

// Writer is the write side of a store. A write returns only once it is durable (for
// durable backends): an acknowledged write survives a crash.
type Writer interface {
	// Create stores key if it does not exist (ErrKeyExists otherwise) and returns the new
	// revision.
	Create(ctx context.Context, key string, value []byte) (int64, error)
	// Update replaces key's value. When expectedRevision is non-zero it must equal the
	// key's ModRevision (ErrConflict otherwise). ErrNotFound if the key does not exist.
	Update(ctx context.Context, key string, value []byte, expectedRevision int64) (int64, error)
	// Delete removes key, with the same expectedRevision rule as Update, and returns the
	// value it had (ModRevision set to the revision of the delete).
	Delete(ctx context.Context, key string, expectedRevision int64) (KeyValue, error)
}

// Watcher streams changes.
type Watcher interface {
	// Watch sends, in revision order, every change to keys under prefix with a revision
	// greater than afterRevision (afterRevision 0 means: changes from now on). It returns
	// ErrCompacted if afterRevision is older than the retained history. The channel is
	// closed when ctx ends, when the store closes, or when the receiver falls too far
	// behind (the caller then starts again from the last revision it saw). An event is
	// shared by every watch that receives it (and the store's history): read-only.
	Watch(ctx context.Context, prefix string, afterRevision int64) (<-chan *Event, error)
}

// Interface is a whole store.
type Interface interface {
	Reader
	Writer
	Watcher
	// Close releases the store; pending watches are closed.
	Close() error
}
