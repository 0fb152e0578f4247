package process

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/kjet-dev/kjet/internal/runtime"
)

// memRecords stands in for the supervisor's records: what a rewrite keeps.
type memRecords struct {
	mu   sync.Mutex
	recs map[string]record
}

func (m *memRecords) set(r record) {
	m.mu.Lock()
	m.recs[r.Status.ID] = r
	m.mu.Unlock()
}

func (m *memRecords) del(id string) {
	m.mu.Lock()
	delete(m.recs, id)
	m.mu.Unlock()
}

func (m *memRecords) snapshot() []record {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]record, 0, len(m.recs))
	for _, r := range m.recs {
		out = append(out, r)
	}
	return out
}

func testRecord(id string, state runtime.State, code int) record {
	return record{Status: runtime.ContainerStatus{ID: id, State: state, ExitCode: code, PID: 100}}
}

// states summarises loaded records as id=state/code, sorted.
func states(recs []record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, fmt.Sprintf("%s=%s/%d", r.Status.ID, r.Status.State, r.Status.ExitCode))
	}
	sort.Strings(out)
	return out
}

func loadForTest(t *testing.T, dir string) []record {
	t.Helper()
	recs, err := loadJournal(dir, func(what string, err error) { t.Errorf("unreadable %s: %v", what, err) })
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestJournal(t *testing.T) {
	tests := []struct {
		name string
		// prepare writes files into dir before the journal is opened.
		prepare func(t *testing.T, dir string)
		// use runs against the open journal, keeping mem in step as a supervisor does.
		use  func(t *testing.T, j *journal, mem *memRecords)
		want []string
		// maxLines bounds the journal's lines after use.
		maxLines int
	}{
		{
			name: "start, exit and removal; the last line about an ID wins",
			use: func(t *testing.T, j *journal, mem *memRecords) {
				for _, r := range []record{
					testRecord("a", runtime.StateRunning, 0),
					testRecord("b", runtime.StateRunning, 0),
					testRecord("a", runtime.StateExited, 3),
					testRecord("c", runtime.StateRunning, 0),
					testRecord("c", runtime.StateExited, 0),
				} {
					mem.set(r)
					seq, err := j.put(&r)
					if err != nil {
						t.Fatal(err)
					}
					if r.Status.State == runtime.StateExited {
						if err := j.sync(seq); err != nil {
							t.Fatal(err)
						}
					}
				}
				mem.del("c")
				if err := j.remove("c"); err != nil {
					t.Fatal(err)
				}
			},
			want:     []string{"a=exited/3", "b=running/0"},
			maxLines: 6,
		},
		{
			name: "a line torn by a crash mid-append is dropped",
			prepare: func(t *testing.T, dir string) {
				var b []byte
				b, _ = appendJSONLine(b, &journalEntry{Record: ptr(testRecord("a", runtime.StateExited, 1))})
				b = append(b, `{"record":{"status":{"id":"b","st`...)
				if err := os.WriteFile(journalPath(dir), b, 0o600); err != nil {
					t.Fatal(err)
				}
			},
			want:     []string{"a=exited/1"},
			maxLines: 1,
		},
		{
			name: "records of the one-file-per-container layout move into the journal",
			prepare: func(t *testing.T, dir string) {
				b, _ := json.Marshal(testRecord("old", runtime.StateExited, 7))
				if err := os.WriteFile(filepath.Join(containersDir(dir), "old.json"), b, 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(containersDir(dir), ".tmp-old-1"), []byte("{"), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			use: func(t *testing.T, j *journal, mem *memRecords) {
				entries, _ := os.ReadDir(containersDir(j.dir))
				if len(entries) != 0 {
					t.Errorf("files of the old layout left: %v", entries)
				}
			},
			want:     []string{"old=exited/7"},
			maxLines: 1,
		},
		{
			name: "the journal is rewritten when removed containers' lines pile up",
			use: func(t *testing.T, j *journal, mem *memRecords) {
				keep := testRecord("keep", runtime.StateExited, 2)
				mem.set(keep)
				if _, err := j.put(&keep); err != nil {
					t.Fatal(err)
				}
				for i := range compactSlack {
					r := testRecord(fmt.Sprintf("gone-%d", i), runtime.StateExited, 0)
					mem.set(r)
					if _, err := j.put(&r); err != nil {
						t.Fatal(err)
					}
					mem.del(r.Status.ID)
					if err := j.remove(r.Status.ID); err != nil {
						t.Fatal(err)
					}
				}
			},
			want:     []string{"keep=exited/2"},
			maxLines: compactSlack,
		},
		{
			name: "exits synced concurrently are all durable",
			use: func(t *testing.T, j *journal, mem *memRecords) {
				var wg sync.WaitGroup
				for i := range 16 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						r := testRecord(fmt.Sprintf("p%02d", i), runtime.StateExited, i)
						mem.set(r)
						seq, err := j.put(&r)
						if err == nil {
							err = j.sync(seq)
						}
						if err != nil {
							t.Error(err)
						}
					}()
				}
				wg.Wait()
			},
			want: func() []string {
				var w []string
				for i := range 16 {
					w = append(w, fmt.Sprintf("p%02d=exited/%d", i, i))
				}
				return w
			}(),
			maxLines: 16,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(containersDir(dir), 0o700); err != nil {
				t.Fatal(err)
			}
			if tc.prepare != nil {
				tc.prepare(t, dir)
			}
			mem := &memRecords{recs: map[string]record{}}
			for _, r := range loadForTest(t, dir) {
				mem.set(r)
			}
			j, err := openJournal(dir, mem.snapshot)
			if err != nil {
				t.Fatal(err)
			}
			if tc.use != nil {
				tc.use(t, j, mem)
			}
			if err := j.close(); err != nil {
				t.Fatal(err)
			}
			if err := j.remove("x"); err == nil {
				t.Error("append after close succeeded")
			}
			got := states(loadForTest(t, dir))
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("records after reload: %v, want %v", got, tc.want)
			}
			b, err := os.ReadFile(journalPath(dir))
			if err != nil {
				t.Fatal(err)
			}
			if n := bytes.Count(b, []byte{'\n'}); n > tc.maxLines {
				t.Errorf("journal has %d lines, want at most %d", n, tc.maxLines)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
