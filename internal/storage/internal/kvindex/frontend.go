package kvindex

import (
	"context"

	"github.com/kjet-dev/kjet/internal/storage"
)

// Frontend is the part of storage.Interface that every backend shares: reads and
// watches are served by the in-memory Index, and each write is one Op handed to the
// backend's Write function (which makes it durable, if the backend is, and commits it to
// the index). Backends embed it and add Close.
type Frontend struct {
	Index *Index
	// Write applies op and returns the event it produced.
	Write func(ctx context.Context, op Op) (storage.Event, error)
}

// Get implements storage.Reader.
func (f *Frontend) Get(ctx context.Context, key string) (storage.KeyValue, error) {
	return f.Index.Get(ctx, key)
}

// List implements storage.Reader.
func (f *Frontend) List(ctx context.Context, prefix string, opts storage.ListOptions) (storage.ListResult, error) {
	return f.Index.List(ctx, prefix, opts)
}

// Revision implements storage.Reader.
func (f *Frontend) Revision() int64 { return f.Index.Revision() }

// Watch implements storage.Watcher.
func (f *Frontend) Watch(ctx context.Context, prefix string, afterRevision int64) (<-chan *storage.Event, error) {
	return f.Index.Watch(ctx, prefix, afterRevision)
}

// Create implements storage.Writer.
func (f *Frontend) Create(ctx context.Context, key string, value []byte) (int64, error) {
	ev, err := f.Write(ctx, Op{Type: OpCreate, Key: key, Value: value})
	return ev.KV.ModRevision, err
}

// Update implements storage.Writer.
func (f *Frontend) Update(ctx context.Context, key string, value []byte, expectedRevision int64) (int64, error) {
	ev, err := f.Write(ctx, Op{Type: OpUpdate, Key: key, Value: value, ExpectedRevision: expectedRevision})
	return ev.KV.ModRevision, err
}

// Delete implements storage.Writer.
func (f *Frontend) Delete(ctx context.Context, key string, expectedRevision int64) (storage.KeyValue, error) {
	ev, err := f.Write(ctx, Op{Type: OpDelete, Key: key, ExpectedRevision: expectedRevision})
	return ev.KV, err
}
