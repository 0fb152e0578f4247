package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/kjet-dev/kjet/internal/storage"
)

// The write-ahead log (DB-wal beside the bbolt file) makes a write durable with one
// fdatasync of an appended record, where a bbolt commit costs two (data pages, then the
// meta page) plus the page writes. Committed batches go to the log first and are
// acknowledged once it is synced; they reach the bbolt file in checkpoints, one bbolt
// transaction for many batches. After a checkpoint the log is written again from its
// start, over blocks already allocated, so its syncs need no metadata update. etcd
// pairs its WAL with bbolt the same way.
//
// A record is a 4-byte little-endian payload length, the payload's CRC-32 (Castagnoli),
// then the payload: the batch's revision and its events. On open, records are replayed
// in order while they are whole, their checksums hold and their revisions go up; the
// first that fails ends the log (a write torn by a crash, or a record left over from
// before the last checkpoint).

// walSuffix names the log: the database path plus this suffix.
const walSuffix = "-wal"

// walRecordHeader is the length and checksum before each payload.
const walRecordHeader = 8

// maxWALRecord bounds a payload's length when reading, so a corrupt length cannot make
// replay allocate without limit (a batch is at most MaxBatch values of at most bbolt's
// value size, far below this in practice).
const maxWALRecord = 1 << 30

var walTable = crc32.MakeTable(crc32.Castagnoli)

// wal appends records to the log file and resets it after checkpoints.
type wal struct {
	f *os.File
	// off is where the next record goes; records before it are not yet in bbolt.
	off int64
	buf []byte
}

// walBatch is one replayed record: a committed batch.
type walBatch struct {
	revision int64
	events   []storage.Event
}

// openWAL opens (creating) the log at path and returns it with the batches it holds,
// in order. The caller applies them and then calls reset.
func openWAL(path string) (*wal, []walBatch, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("opening write-ahead log: %w", err)
	}
	batches, err := readWAL(f)
	if err != nil {
		return nil, nil, errors.Join(err, f.Close())
	}
	return &wal{f: f}, batches, nil
}

// readWAL reads the valid prefix of the log.
func readWAL(r io.Reader) ([]walBatch, error) {
	var batches []walBatch
	var header [walRecordHeader]byte
	last := int64(0)
	for {
		if _, err := io.ReadFull(r, header[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return batches, nil
			}
			return nil, fmt.Errorf("reading write-ahead log: %w", err)
		}
		n := binary.LittleEndian.Uint32(header[0:4])
		if n == 0 || n > maxWALRecord {
			return batches, nil
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(r, payload); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return batches, nil
			}
			return nil, fmt.Errorf("reading write-ahead log: %w", err)
		}
		if crc32.Checksum(payload, walTable) != binary.LittleEndian.Uint32(header[4:8]) {
			return batches, nil
		}
		b, ok := decodeWALBatch(payload)
		if !ok || b.revision <= last {
			return batches, nil
		}
		last = b.revision
		batches = append(batches, b)
	}
}

// append writes one batch's record and syncs it.
func (w *wal) append(revision int64, events []storage.Event) error {
	w.buf = encodeWALBatch(w.buf[:0], revision, events)
	if _, err := w.f.WriteAt(w.buf, w.off); err != nil {
		return fmt.Errorf("appending to write-ahead log: %w", err)
	}
	if err := unix.Fdatasync(int(w.f.Fd())); err != nil {
		return fmt.Errorf("syncing write-ahead log: %w", err)
	}
	w.off += int64(len(w.buf))
	return nil
}

// reset starts the log over once everything in it is in the bbolt file. The bytes left
// behind are records that replay skips: the first one after the new records either fails
// its checksum or does not raise the revision.
func (w *wal) reset() { w.off = 0 }

func (w *wal) close() error { return w.f.Close() }

// encodeWALBatch appends a record (header and payload) to buf.
func encodeWALBatch(buf []byte, revision int64, events []storage.Event) []byte {
	start := len(buf)
	buf = append(buf, make([]byte, walRecordHeader)...)
	buf = binary.AppendUvarint(buf, uint64(revision))
	buf = binary.AppendUvarint(buf, uint64(len(events)))
	for _, ev := range events {
		buf = append(buf, byte(ev.Type))
		buf = binary.AppendUvarint(buf, uint64(ev.KV.CreateRevision))
		buf = binary.AppendUvarint(buf, uint64(ev.KV.ModRevision))
		buf = binary.AppendUvarint(buf, uint64(len(ev.KV.Key)))
		buf = append(buf, ev.KV.Key...)
		if ev.Type == storage.EventDelete {
			continue
		}
		buf = binary.AppendUvarint(buf, uint64(len(ev.KV.Value)))
		buf = append(buf, ev.KV.Value...)
	}
	payload := buf[start+walRecordHeader:]
	binary.LittleEndian.PutUint32(buf[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(buf[start+4:], crc32.Checksum(payload, walTable))
	return buf
}

// decodeWALBatch parses a payload; ok is false when it is malformed.
func decodeWALBatch(p []byte) (b walBatch, ok bool) {
	d := walDecoder{p: p}
	b.revision = int64(d.uvarint())
	n := d.uvarint()
	if d.bad || n > uint64(len(p)) {
		return walBatch{}, false
	}
	b.events = make([]storage.Event, 0, n)
	for range n {
		var ev storage.Event
		ev.Type = storage.EventType(d.byte())
		ev.KV.CreateRevision = int64(d.uvarint())
		ev.KV.ModRevision = int64(d.uvarint())
		ev.KV.Key = string(d.bytes())
		if ev.Type != storage.EventDelete {
			ev.KV.Value = d.bytes()
		}
		if d.bad {
			return walBatch{}, false
		}
		b.events = append(b.events, ev)
	}
	return b, !d.bad && len(d.p) == 0
}

// walDecoder reads a payload; any short read sets bad.
type walDecoder struct {
	p   []byte
	bad bool
}

func (d *walDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.p)
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.p = d.p[n:]
	return v
}

func (d *walDecoder) byte() byte {
	if len(d.p) < 1 {
		d.bad = true
		return 0
	}
	b := d.p[0]
	d.p = d.p[1:]
	return b
}

func (d *walDecoder) bytes() []byte {
	n := d.uvarint()
	if d.bad || n > uint64(len(d.p)) {
		d.bad = true
		return nil
	}
	b := append([]byte(nil), d.p[:n]...)
	d.p = d.p[n:]
	return b
}
