package process

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// journal is the supervisor's durable list of container records:
// DIR/containers.journal, one JSON line per change (a container's record, or its
// removal); the last line about an ID wins. Recording a container's start, exit
// and removal costs three write(2)s on one open file, where a file per record
// cost a create, a write, a rename and an unlink each time; an exit's fdatasync is
// shared by the exits that come together.
//
// When the lines about removed or superseded records far outnumber the live ones,
// the journal is rewritten from the supervisor's records (a temp file, synced,
// renamed over it), as it also is on every load.
//
// Lock order: syncMu before mu; mu before supervisor.mu (snapshot takes it).
type journal struct {
	dir string // the supervisor's directory
	// snapshot returns the records a rewrite keeps.
	snapshot func() []record

	// syncMu is held while the file is synced or swapped for a rewritten one.
	syncMu sync.Mutex
	synced uint64 // guarded by syncMu: entries up to this sequence number are durable

	mu      sync.Mutex // guards f, lines, ids, written, buf
	f       *os.File
	lines   int                 // lines in the file
	ids     map[string]struct{} // IDs with a live record
	written uint64              // sequence number of the last entry written
	buf     []byte
}

// journalEntry is one line of the journal.
type journalEntry struct {
	Record  *record `json:"record,omitempty"`
	Removed string  `json:"removed,omitempty"`
}

// Compaction thresholds: a rewrite happens once the journal has more than
// compactFactor lines per live record plus compactSlack lines.
const (
	compactFactor = 4
	compactSlack  = 4096
)

func journalPath(dir string) string { return filepath.Join(dir, "containers.journal") }

// loadJournal reads the records stored in dir: the journal's, and those a supervisor
// of an earlier layout left in containers/<id>.json (they move into the journal
// when it is first rewritten). A torn last line (a crash mid-append) is dropped;
// other unreadable lines are reported through bad and skipped.
func loadJournal(dir string, bad func(what string, err error)) ([]record, error) {
	byID := map[string]record{}
	var order []string
	put := func(r record) {
		if _, ok := byID[r.Status.ID]; !ok {
			order = append(order, r.Status.ID)
		}
		byID[r.Status.ID] = r
	}
	legacy, err := readRecords(dir, bad)
	if err != nil {
		return nil, err
	}
	for _, r := range legacy {
		put(r)
	}
	b, err := os.ReadFile(journalPath(dir))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading container journal: %w", err)
	}
	for n := 1; len(b) > 0; n++ {
		line, rest, complete := bytes.Cut(b, []byte{'\n'})
		b = rest
		if !complete {
			break // torn by a crash while it was appended
		}
		var e journalEntry
		if err := json.Unmarshal(line, &e); err != nil {
			bad(fmt.Sprintf("journal line %d", n), err)
			continue
		}
		switch {
		case e.Record != nil && validID(e.Record.Status.ID) == nil:
			put(*e.Record)
		case e.Removed != "":
			delete(byID, e.Removed)
		default:
			bad(fmt.Sprintf("journal line %d", n), errors.New("neither a record nor a removal"))
		}
	}
	out := make([]record, 0, len(byID))
	for _, id := range order {
		if r, ok := byID[id]; ok {
			out = append(out, r)
			delete(byID, id) // an ID removed and recorded again is listed once
		}
	}
	return out, nil
}

// openJournal rewrites the journal from snapshot and opens it for appending. The
// caller has loaded it (loadJournal) and holds the directory's lock.
func openJournal(dir string, snapshot func() []record) (*journal, error) {
	j := &journal{dir: dir, snapshot: snapshot}
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.rewriteLocked(); err != nil {
		return nil, err
	}
	// The records of the earlier layout are in the journal now; temp files are
	// what a supervisor that died mid-write left.
	entries, _ := os.ReadDir(containersDir(dir))
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".json") || strings.HasPrefix(name, ".tmp-") {
			_ = os.Remove(filepath.Join(containersDir(dir), name))
		}
	}
	entries, _ = os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-containers.journal-") {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	return j, nil
}

// put records r (a start or an exit) and returns the sequence number to sync up to
// for it to be durable.
func (j *journal) put(r *record) (uint64, error) {
	seq, err := j.append(journalEntry{Record: r})
	if err != nil {
		return seq, fmt.Errorf("recording container %s: %w", r.Status.ID, err)
	}
	return seq, nil
}

// remove records that id is gone.
func (j *journal) remove(id string) error {
	if _, err := j.append(journalEntry{Removed: id}); err != nil {
		return fmt.Errorf("recording removal of container %s: %w", id, err)
	}
	return nil
}

// append writes e as one line and returns its sequence number; it rewrites the
// journal when that is due.
func (j *journal) append(e journalEntry) (uint64, error) {
	j.mu.Lock()
	var err error
	j.buf, err = appendJSONLine(j.buf[:0], &e)
	if err == nil && j.f == nil {
		err = errors.New("container journal is closed")
	}
	if err == nil {
		_, err = j.f.Write(j.buf)
	}
	if err != nil {
		j.mu.Unlock()
		return 0, err
	}
	j.lines++
	if e.Record != nil {
		j.ids[e.Record.Status.ID] = struct{}{}
	} else {
		delete(j.ids, e.Removed)
	}
	j.written++
	seq := j.written
	due := j.lines > compactFactor*len(j.ids)+compactSlack
	j.mu.Unlock()
	if due {
		if err := j.compact(); err != nil {
			return seq, err
		}
	}
	return seq, nil
}

// sync makes every entry up to seq durable. Callers that arrive while a sync runs
// wait for it and are often covered by the next one: one fdatasync for all of them.
func (j *journal) sync(seq uint64) error {
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	if j.synced >= seq {
		return nil
	}
	j.mu.Lock()
	f, upTo := j.f, j.written
	j.mu.Unlock()
	if f == nil {
		return errors.New("container journal is closed")
	}
	// f stays open: only compact and close swap or close it, under syncMu.
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		return fmt.Errorf("syncing container journal: %w", err)
	}
	j.synced = upTo
	return nil
}

// compact rewrites the journal if it is still due.
func (j *journal) compact() error {
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil || j.lines <= compactFactor*len(j.ids)+compactSlack {
		return nil
	}
	return j.rewriteLocked()
}

// rewriteLocked replaces the journal with one line per record of snapshot, durably,
// and makes it the file appended to. The caller holds syncMu and mu.
func (j *journal) rewriteLocked() error {
	recs := j.snapshot()
	var buf []byte
	ids := make(map[string]struct{}, len(recs))
	for i := range recs {
		var err error
		if buf, err = appendJSONLine(buf, &journalEntry{Record: &recs[i]}); err != nil {
			return fmt.Errorf("rewriting container journal: %w", err)
		}
		ids[recs[i].Status.ID] = struct{}{}
	}
	path := journalPath(j.dir)
	tmp, err := os.CreateTemp(j.dir, ".tmp-containers.journal-")
	if err != nil {
		return fmt.Errorf("rewriting container journal: %w", err)
	}
	_, werr := tmp.Write(buf)
	if werr == nil {
		werr = tmp.Sync()
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr == nil {
		werr = syncDir(j.dir)
	}
	if werr != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("rewriting container journal: %w", werr)
	}
	// The renamed temp file is the journal now; appends go to its end.
	if _, err := tmp.Seek(0, 2); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("rewriting container journal: %w", err)
	}
	if j.f != nil {
		_ = j.f.Close()
	}
	j.f, j.lines, j.ids = tmp, len(recs), ids
	j.synced = j.written
	return nil
}

// close syncs and closes the journal; later appends fail.
func (j *journal) close() error {
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := unix.Fdatasync(int(j.f.Fd()))
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	j.f = nil
	j.synced = j.written
	if err != nil {
		return fmt.Errorf("closing container journal: %w", err)
	}
	return nil
}

// appendJSONLine appends v as JSON and a newline.
func appendJSONLine(b []byte, v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	b = append(b, data...)
	return append(b, '\n'), nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
