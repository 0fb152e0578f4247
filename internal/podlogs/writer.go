// Package podlogs writes and reads container log files in the CRI log format that
// kubelet uses: one line per record,
//
//	2016-10-06T00:17:09.669794202Z stdout F a complete line
//	2016-10-06T00:17:09.669794202Z stderr P a partial line (no newline yet)
//
// The process runtime writes a container's stdout and stderr with Writer; the node agent
// serves `kubectl logs` with Read, which follows corev1.PodLogOptions semantics.
package podlogs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/utils/clock"
)

// Stream names, as they appear in the log file.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// Tags mark whether a record ends a line.
const (
	tagFull    = 'F'
	tagPartial = 'P'
)

// maxRecordBytes is the longest line content written in one record; longer lines are
// split into partial records, like containerd does (16 KiB).
const maxRecordBytes = 16 * 1024

// WriterOptions tune a Writer.
type WriterOptions struct {
	// Clock stamps records. Default: the real clock.
	Clock clock.PassiveClock
}

// Writer turns one output stream of a container into CRI log records appended to a file.
// Complete lines become F records; what remains of a Write without a newline is written
// at once as a P record, so a prompt or progress output shows up immediately. Each
// Write appends with a single write(2) on an O_APPEND file, so a stdout and a stderr
// Writer on the same path never interleave within a record.
type Writer struct {
	stream string
	clock  clock.PassiveClock

	mu  sync.Mutex // guards f and buf
	f   *os.File
	buf []byte
	// release closes this Writer's hold on f (the file itself once no Writer uses it).
	release func() error
}

var _ io.WriteCloser = (*Writer)(nil)

// NewWriter opens (creating it and its directory if needed) the log file at path for
// appending and returns a Writer for stream ("stdout" or "stderr").
func NewWriter(path string, stream string) (*Writer, error) {
	return NewWriterWithOptions(path, stream, WriterOptions{})
}

// NewWriterWithOptions is NewWriter with options.
func NewWriterWithOptions(path string, stream string, opts WriterOptions) (*Writer, error) {
	if stream != Stdout && stream != Stderr {
		return nil, fmt.Errorf("opening log writer: unknown stream %q", stream)
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	f, err := openLog(path)
	if err != nil {
		return nil, err
	}
	return &Writer{stream: stream, clock: opts.Clock, f: f, release: f.Close}, nil
}

// NewWriters opens the log file at path once, as NewWriter does, and returns the
// Writers of a container's two streams, which share it. Appends are whole records, so
// the two interleave by record; the file is closed with the second Writer.
func NewWriters(path string) (stdout, stderr *Writer, err error) {
	f, err := openLog(path)
	if err != nil {
		return nil, nil, err
	}
	var open atomic.Int32
	open.Store(2)
	release := func() error {
		if open.Add(-1) == 0 {
			return f.Close()
		}
		return nil
	}
	c := clock.RealClock{}
	return &Writer{stream: Stdout, clock: c, f: f, release: release}, &Writer{stream: Stderr, clock: c, f: f, release: release}, nil
}

// openLog opens (creating it and its directory if needed) the log file at path for
// appending.
func openLog(path string) (*os.File, error) {
	if err := MakeDir(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("creating log directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("opening log file: %w", err)
	}
	return f, nil
}

// MakeDir creates dir (mode 0755) and any missing parents, as os.MkdirAll does, but
// with one mkdir when only dir itself is missing, which is the usual case: os.MkdirAll
// looks at dir and then at its parent first, and every lookup of a missing name costs a
// system call.
func MakeDir(dir string) error {
	err := os.Mkdir(dir, 0o755)
	if errors.Is(err, fs.ErrExist) || errors.Is(err, fs.ErrNotExist) {
		// Already there (a directory, or a file: MkdirAll tells), or parents missing.
		return os.MkdirAll(dir, 0o755)
	}
	return err
}

// Write records p. It always consumes all of p unless the file write fails.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return 0, os.ErrClosed
	}
	ts := w.clock.Now().UTC().Format(time.RFC3339Nano)
	w.buf = w.buf[:0]
	rest := p
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		var content []byte
		tag := byte(tagFull)
		switch {
		case i >= 0 && i <= maxRecordBytes:
			content, rest = rest[:i], rest[i+1:]
		case len(rest) > maxRecordBytes:
			content, rest = rest[:maxRecordBytes], rest[maxRecordBytes:]
			tag = tagPartial
		default: // no newline in what is left
			content, rest = rest, nil
			tag = tagPartial
		}
		w.buf = appendRecord(w.buf, ts, w.stream, tag, content)
	}
	if _, err := w.f.Write(w.buf); err != nil {
		return 0, fmt.Errorf("writing log record: %w", err)
	}
	return len(p), nil
}

// Close closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.release()
	w.f = nil
	return err
}

func appendRecord(b []byte, ts, stream string, tag byte, content []byte) []byte {
	b = append(b, ts...)
	b = append(b, ' ')
	b = append(b, stream...)
	b = append(b, ' ', tag, ' ')
	b = append(b, content...)
	return append(b, '\n')
}
