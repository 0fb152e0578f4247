package process

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kjet-dev/kjet/internal/runtime"
)

// The supervisor and its clients speak JSON lines over DIR/supervisor.sock: a client
// sends requests, the supervisor answers each with a response carrying the same Seq,
// and pushes events (Seq 0) when containers exit.

// Request operations.
const (
	opHello    = "hello"
	opStart    = "start"
	opStop     = "stop"
	opStatus   = "status"
	opList     = "list"
	opRemove   = "remove"
	opResize   = "resize"
	opShutdown = "shutdown"
)

// eventExited is the only event: a container exited and its record, which the
// event carries, is final.
const eventExited = "exited"

type request struct {
	Seq    uint64                   `json:"seq"`
	Op     string                   `json:"op"`
	ID     string                   `json:"id,omitempty"`
	Config *runtime.ContainerConfig `json:"config,omitempty"`
	Grace  time.Duration            `json:"grace,omitempty"`
	Width  uint16                   `json:"width,omitempty"`
	Height uint16                   `json:"height,omitempty"`
}

type response struct {
	Seq      uint64   `json:"seq"`
	Error    string   `json:"error,omitempty"`
	NotFound bool     `json:"notFound,omitempty"`
	Record   *record  `json:"record,omitempty"` // also on exit events: the final record
	Records  []record `json:"records,omitempty"`
	// Event and ID are set on pushed events.
	Event string `json:"event,omitempty"`
	ID    string `json:"id,omitempty"`
	// PID is the supervisor's process ID (hello).
	PID int `json:"pid,omitempty"`
}

// record is what the supervisor keeps about one container, in memory and in
// DIR/containers.journal.
type record struct {
	Status runtime.ContainerStatus `json:"status"`
	// StartTicks is the process's start time in clock ticks since boot
	// (/proc/<pid>/stat field 22): with PID it tells our process from a reused PID.
	StartTicks uint64     `json:"startTicks,omitempty"`
	Cgroup     *cgroupRef `json:"cgroup,omitempty"`
	// MountNamespace is set when the container runs in its own mount namespace.
	MountNamespace bool `json:"mountNamespace,omitempty"`
	// StdinPath is the FIFO feeding the container's stdin (Stdin containers).
	StdinPath string `json:"stdinPath,omitempty"`
}

// Paths inside the supervisor's directory.
func socketPath(dir string) string    { return filepath.Join(dir, "supervisor.sock") }
func pidPath(dir string) string       { return filepath.Join(dir, "supervisor.pid") }
func lockPath(dir string) string      { return filepath.Join(dir, "supervisor.lock") }
func logPath(dir string) string       { return filepath.Join(dir, "supervisor.log") }
func containersDir(dir string) string { return filepath.Join(dir, "containers") }
func stdinPath(dir, id string) string { return filepath.Join(containersDir(dir), id+".stdin") }

// maxSocketPath is the longest path bind(2) and connect(2) take for a unix socket.
const maxSocketPath = 107

// withSocketAddr calls fn with an address for the supervisor's socket in dir. A
// path too long for a unix socket is reached through /proc/self/fd instead.
func withSocketAddr(dir string, fn func(addr string) error) error {
	p := socketPath(dir)
	if len(p) <= maxSocketPath {
		return fn(p)
	}
	d, err := os.OpenFile(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening supervisor directory: %w", err)
	}
	defer d.Close()
	return fn(fmt.Sprintf("/proc/self/fd/%d/%s", d.Fd(), filepath.Base(p)))
}

// validID keeps container IDs usable as file and cgroup names.
func validID(id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/\x00") || len(id) > 200 {
		return fmt.Errorf("invalid container ID %q", id)
	}
	return nil
}

// readRecords loads the records a supervisor of an earlier layout stored one per
// file (containers/<id>.json); unreadable ones are reported through bad and skipped.
func readRecords(dir string, bad func(name string, err error)) ([]record, error) {
	entries, err := os.ReadDir(containersDir(dir))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading container records: %w", err)
	}
	var out []record
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".json") || strings.HasPrefix(name, ".tmp-") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(containersDir(dir), name))
		if err != nil {
			bad(name, err)
			continue
		}
		var r record
		if err := json.Unmarshal(b, &r); err != nil {
			bad(name, err)
			continue
		}
		out = append(out, r)
	}
	return out, nil
}
