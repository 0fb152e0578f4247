package bolt

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/kjet-dev/kjet/internal/storage"
)

func put(key, value string, create, mod int64) storage.Event {
	return storage.Event{Type: storage.EventPut, KV: storage.KeyValue{Key: key, Value: []byte(value), CreateRevision: create, ModRevision: mod}}
}

func del(key string, create, mod int64) storage.Event {
	return storage.Event{Type: storage.EventDelete, KV: storage.KeyValue{Key: key, CreateRevision: create, ModRevision: mod}}
}

func TestReadWAL(t *testing.T) {
	b1 := walBatch{revision: 5, events: []storage.Event{put("/a", "one", 5, 5), put("/b", "", 5, 5)}}
	b2 := walBatch{revision: 6, events: []storage.Event{put("/a", "two", 5, 6), del("/b", 5, 6)}}
	b3 := walBatch{revision: 7, events: []storage.Event{put("/c", "three", 7, 7)}}
	record := func(b walBatch) []byte { return encodeWALBatch(nil, b.revision, b.events) }
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	flip := func(p []byte, i int) []byte {
		q := append([]byte(nil), p...)
		q[i] ^= 0xff
		return q
	}
	whole := join(record(b1), record(b2), record(b3))
	cases := []struct {
		name string
		log  []byte
		want []walBatch
	}{
		{name: "empty log", log: nil, want: nil},
		{name: "every record", log: whole, want: []walBatch{b1, b2, b3}},
		{name: "torn last record", log: whole[:len(whole)-3], want: []walBatch{b1, b2}},
		{name: "torn header", log: whole[:len(record(b1))+5], want: []walBatch{b1}},
		{name: "corrupt payload ends the log", log: join(record(b1), flip(record(b2), walRecordHeader+2), record(b3)), want: []walBatch{b1}},
		{name: "zero length ends the log", log: join(record(b1), make([]byte, 64)), want: []walBatch{b1}},
		// After a checkpoint the log is rewritten from its start: older records left
		// behind do not raise the revision.
		{name: "stale records after a reset", log: join(record(b3), record(b1), record(b2)), want: []walBatch{b3}},
		{name: "stale bytes mid-record after a reset", log: join(record(b2), whole[7:]), want: []walBatch{b2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readWAL(bytes.NewReader(tc.log))
			if err != nil {
				t.Fatalf("readWAL: %v", err)
			}
			if !reflect.DeepEqual(normalize(got), normalize(tc.want)) {
				t.Errorf("batches:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// normalize makes empty and nil values compare equal (a decoded empty value is nil or
// empty depending on the path).
func normalize(bs []walBatch) []walBatch {
	out := make([]walBatch, 0, len(bs))
	for _, b := range bs {
		nb := walBatch{revision: b.revision}
		for _, ev := range b.events {
			if len(ev.KV.Value) == 0 {
				ev.KV.Value = nil
			}
			nb.events = append(nb.events, ev)
		}
		out = append(out, nb)
	}
	return out
}
