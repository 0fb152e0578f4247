package apiserver

import (
	"bytes"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
)

// Bounds of the watch event cache. Watches read their events within moments of each
// other (a watch falls behind by at most its store buffer), so the last thousand
// values cover the informers of one process; a watch further behind decodes for
// itself. The byte bound keeps large objects (ConfigMaps, Secrets up to 1 MiB) from
// holding much memory: a value costs about sharedObjectCostFactor times its stored
// size once decoded and encoded as JSON and protobuf.
const (
	watchEventCacheEntries = 1024
	watchEventCacheBytes   = 64 << 20
	sharedObjectCostFactor = 6
)

// eventValueKey names one stored value of one change: the change's key and revision,
// and whether it is the value before the change (a put's PrevKV) or the event's own.
type eventValueKey struct {
	res  *resource
	key  string
	rev  int64
	prev bool
}

// watchEventCache holds the decoded objects of recent storage events for every watch
// of a Server, so that N watches of a resource decode (and encode) each change once
// instead of N times. It keeps the newest values within a count and a byte bound. It
// is safe for concurrent use.
type watchEventCache struct {
	maxBytes int

	mu sync.Mutex
	// entries, fifo, oldest and bytes are guarded by mu. fifo is a ring of entries'
	// keys in insertion order, len(entries) of them from index oldest; bytes is their
	// estimated cost.
	entries map[eventValueKey]*sharedObject
	fifo    []eventValueKey
	oldest  int
	bytes   int
}

// newWatchEventCache returns a cache of at most maxEntries values costing at most
// maxBytes (estimated).
func newWatchEventCache(maxEntries, maxBytes int) *watchEventCache {
	return &watchEventCache{
		maxBytes: maxBytes,
		entries:  make(map[eventValueKey]*sharedObject, maxEntries),
		fifo:     make([]eventValueKey, maxEntries),
	}
}

// get returns the shared object for k, a stored value of storedSize bytes, decoding it
// with decode on first use. Watches asking for the same value at the same time wait
// for one decode.
func (c *watchEventCache) get(k eventValueKey, storedSize int, decode func() (runtime.Object, error)) (*sharedObject, error) {
	c.mu.Lock()
	so, ok := c.entries[k]
	if !ok {
		so = &sharedObject{cost: storedSize * sharedObjectCostFactor}
		for len(c.entries) > 0 && (len(c.entries) == len(c.fifo) || c.bytes+so.cost > c.maxBytes) {
			c.evictOldest()
		}
		c.fifo[(c.oldest+len(c.entries))%len(c.fifo)] = k
		c.bytes += so.cost
		c.entries[k] = so
	}
	c.mu.Unlock()
	so.decodeOnce.Do(func() { so.obj, so.err = decode() })
	if so.err != nil {
		return nil, so.err
	}
	return so, nil
}

// evictOldest drops the oldest value; watches still holding it keep it alive. The
// caller holds mu.
func (c *watchEventCache) evictOldest() {
	k := c.fifo[c.oldest]
	c.fifo[c.oldest] = eventValueKey{}
	c.oldest = (c.oldest + 1) % len(c.fifo)
	c.bytes -= c.entries[k].cost
	delete(c.entries, k)
}

// sharedObject is one decoded stored value, seen by every watch of its resource. obj
// must not be modified: watches copy it before any change (table rows) and encode it
// read-only. Its encodings are made once, on first use.
type sharedObject struct {
	// cost is the estimated memory the value holds in the cache. Immutable.
	cost int

	decodeOnce sync.Once
	obj        runtime.Object
	err        error

	// encodings are obj's encodings by form and media type (JSON, protobuf). Tables
	// are not shared: they depend on the request and the watch's state.
	encodings [numSharedForms][2]sharedEncoding
}

// sharedForm is what a watch sends of a shared object.
type sharedForm int

const (
	// formObject is the object as it is.
	formObject sharedForm = iota
	// formPartialMetadata is its metadata only (metadata informers).
	formPartialMetadata
	numSharedForms
)

// sharedEncoding is one lazily made encoding of a sharedObject.
type sharedEncoding struct {
	once sync.Once
	data []byte
	err  error
}

// encoded returns obj in form, encoded as mediaType (mediaProtobuf, or JSON otherwise)
// without a trailing newline. The bytes are shared: callers must not modify them.
func (so *sharedObject) encoded(c *codecs, form sharedForm, mediaType string) ([]byte, error) {
	enc := &so.encodings[form][0]
	if mediaType == mediaProtobuf {
		enc = &so.encodings[form][1]
	}
	enc.once.Do(func() {
		out := so.obj
		if form == formPartialMetadata {
			var err error
			if out, err = partialMetadata(so.obj); err != nil {
				enc.err = err
				return
			}
		}
		var err error
		if mediaType == mediaProtobuf {
			enc.data, err = c.encodeProtobuf(out)
		} else {
			// The JSON encoder ends the object with a newline; events carry none.
			enc.data, err = encodeWith(c.json, out)
			enc.data = bytes.TrimSuffix(enc.data, []byte("\n"))
		}
		if err != nil {
			enc.data, enc.err = nil, fmt.Errorf("encoding watch event: %w", err)
		}
	})
	return enc.data, enc.err
}
