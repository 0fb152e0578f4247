package apiserver

import (
	"bytes"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
)

// watchEventCacheSize is how many decoded values of recent storage events the watches
// of a Server share. Watches read their events within moments of each other (a watch
// falls behind by at most its store buffer), so a few hundred cover the informers of
// one process; a watch further behind decodes for itself. A pod takes about 15 kB
// decoded and encoded, so the cache holds at most ~15 MB.
const watchEventCacheSize = 1024

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
// instead of N times. It is safe for concurrent use.
type watchEventCache struct {
	mu sync.Mutex
	// entries and ring are guarded by mu. ring holds the keys of entries in insertion
	// order; next is where the next key goes, evicting the oldest.
	entries map[eventValueKey]*sharedObject
	ring    []eventValueKey
	next    int
}

func newWatchEventCache(size int) *watchEventCache {
	return &watchEventCache{entries: make(map[eventValueKey]*sharedObject, size), ring: make([]eventValueKey, size)}
}

// get returns the shared object for k, decoding it with decode on first use. Watches
// asking for the same value at the same time wait for one decode.
func (c *watchEventCache) get(k eventValueKey, decode func() (runtime.Object, error)) (*sharedObject, error) {
	c.mu.Lock()
	so, ok := c.entries[k]
	if !ok {
		so = &sharedObject{}
		if old := c.ring[c.next]; old.res != nil {
			delete(c.entries, old)
		}
		c.ring[c.next] = k
		c.next = (c.next + 1) % len(c.ring)
		c.entries[k] = so
	}
	c.mu.Unlock()
	so.decodeOnce.Do(func() { so.obj, so.err = decode() })
	if so.err != nil {
		return nil, so.err
	}
	return so, nil
}

// sharedObject is one decoded stored value, seen by every watch of its resource. obj
// must not be modified: watches copy it before any change (table rows) and encode it
// read-only. Its encodings are made once, on first use.
type sharedObject struct {
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
	enc, encoder := &so.encodings[form][0], runtime.Encoder(c.json)
	if mediaType == mediaProtobuf {
		enc, encoder = &so.encodings[form][1], c.protobuf
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
		var buf bytes.Buffer
		if err := encoder.Encode(out, &buf); err != nil {
			enc.err = fmt.Errorf("encoding watch event: %w", err)
			return
		}
		enc.data = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	})
	return enc.data, enc.err
}
