package podlogs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"k8s.io/utils/clock"
)

// Record is one parsed line of a CRI log file.
type Record struct {
	Time   time.Time
	Stream string
	// Partial is set for a P record: Content does not end a line.
	Partial bool
	Content []byte
}

// Options select and shape what Read writes; they mirror corev1.PodLogOptions.
type Options struct {
	// Follow keeps reading as the file grows, until Running says the container has
	// stopped (and everything it wrote has been read) or ctx ends.
	Follow bool
	// Running is polled while following. Nil means the container runs until ctx ends.
	Running func() bool
	// SinceTime skips records older than this time.
	SinceTime *time.Time
	// SinceSeconds skips records older than this many seconds before now; it wins
	// over SinceTime when both are set.
	SinceSeconds *int64
	// TailLines starts this many lines before the end of the file (a line is a run of
	// P records ended by an F record, or the unfinished run at the very end).
	TailLines *int64
	// Timestamps prefixes each record's content with its RFC 3339 timestamp and a space.
	Timestamps bool
	// LimitBytes stops after writing this many bytes.
	LimitBytes *int64
	// Stream selects "Stdout" or "Stderr" only; "" or "All" means both.
	Stream string
	// PollInterval is how often an idle followed file is checked for growth. Default
	// 50ms. After new records (and at the start) it is checked sooner, a tenth of
	// PollInterval, and the wait doubles back up to PollInterval while nothing comes,
	// so a container that just wrote or just ended is noticed within milliseconds.
	PollInterval time.Duration
	// Clock supplies now (SinceSeconds) and the poll timer. Default: the real clock.
	Clock clock.Clock
}

// errLimitReached ends a read once LimitBytes have been written.
var errLimitReached = errors.New("podlogs: limit reached")

// Read writes the log at path to w as kubelet serves `kubectl logs`: each record's
// content, with a newline after F records, optionally timestamped. A missing file
// reads as empty (the container has not written anything yet).
func Read(ctx context.Context, path string, opts Options, w io.Writer) error {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	var since time.Time
	switch {
	case opts.SinceSeconds != nil:
		since = opts.Clock.Now().Add(-time.Duration(*opts.SinceSeconds) * time.Second)
	case opts.SinceTime != nil:
		since = *opts.SinceTime
	}
	want := ""
	switch opts.Stream {
	case "", "All":
	case "Stdout":
		want = Stdout
	case "Stderr":
		want = Stderr
	default:
		return fmt.Errorf("reading logs: unknown stream %q", opts.Stream)
	}
	limit := int64(-1)
	if opts.LimitBytes != nil {
		limit = *opts.LimitBytes
		if limit <= 0 {
			return nil
		}
	}
	var out []byte
	emit := func(r Record) error {
		if want != "" && r.Stream != want {
			return nil
		}
		if !since.IsZero() && r.Time.Before(since) {
			return nil
		}
		out = out[:0]
		if opts.Timestamps {
			out = r.Time.UTC().AppendFormat(out, time.RFC3339Nano)
			out = append(out, ' ')
		}
		out = append(out, r.Content...)
		if !r.Partial {
			out = append(out, '\n')
		}
		if limit >= 0 && int64(len(out)) >= limit {
			if _, err := w.Write(out[:limit]); err != nil {
				return err
			}
			return errLimitReached
		}
		if limit >= 0 {
			limit -= int64(len(out))
		}
		_, err := w.Write(out)
		return err
	}
	so := ScanOptions{Follow: opts.Follow, Running: opts.Running, PollInterval: opts.PollInterval, Clock: opts.Clock}
	if opts.TailLines != nil {
		so.TailLines = opts.TailLines
	}
	err := Scan(ctx, path, so, emit)
	if errors.Is(err, errLimitReached) {
		return nil
	}
	return err
}

// ScanOptions control Scan.
type ScanOptions struct {
	// Follow, Running, PollInterval and Clock behave as in Options.
	Follow       bool
	Running      func() bool
	PollInterval time.Duration
	Clock        clock.Clock
	// TailLines starts this many lines before the end (see Options.TailLines).
	TailLines *int64
	// FromEnd starts at the current end of the file (only new records), for attach.
	FromEnd bool
}

// Scan calls fn for every record of the log at path, in order, following the file
// when asked. An error from fn ends the scan and is returned. The record's Content
// is only valid during the call.
func Scan(ctx context.Context, path string, opts ScanOptions, fn func(Record) error) error {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 50 * time.Millisecond
	}
	p := newPoller(opts.Clock, opts.PollInterval)
	var f *os.File
	stopping := false
	for f == nil {
		var err error
		f, err = os.Open(path)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("opening log file: %w", err)
		}
		if !opts.Follow || stopping {
			return nil
		}
		if opts.Running != nil && !opts.Running() {
			stopping = true // one more look: it may have been created just now
			continue
		}
		if err := p.wait(ctx); err != nil {
			return nil
		}
	}
	defer f.Close()

	var start int64
	switch {
	case opts.FromEnd:
		end, err := f.Seek(0, io.SeekEnd)
		if err != nil {
			return fmt.Errorf("seeking log file: %w", err)
		}
		start = end
	case opts.TailLines != nil:
		var err error
		if start, err = tailOffset(f, *opts.TailLines); err != nil {
			return err
		}
	}
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return fmt.Errorf("seeking log file: %w", err)
	}
	br := bufio.NewReaderSize(f, 64*1024)
	var pending []byte // an incomplete line at the end of the file (a write in progress)
	for {
		for {
			chunk, err := br.ReadSlice('\n')
			if errors.Is(err, bufio.ErrBufferFull) {
				pending = append(pending, chunk...)
				continue
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("reading log file: %w", err)
			}
			if err != nil { // EOF: keep the partial line for the next round
				pending = append(pending, chunk...)
				break
			}
			line := chunk
			if len(pending) > 0 {
				pending = append(pending, chunk...)
				line = pending
			}
			rec, perr := ParseRecord(line[:len(line)-1])
			pending = pending[:0]
			if perr != nil {
				continue // not a CRI record: skip it as kubelet does
			}
			if err := fn(rec); err != nil {
				return err
			}
			p.reset()
		}
		if !opts.Follow || stopping {
			return nil
		}
		if opts.Running != nil && !opts.Running() {
			stopping = true // drain what was written before it stopped, then end
			continue
		}
		if err := p.wait(ctx); err != nil {
			return nil
		}
	}
}

// poller paces a follow: the first checks come quickly (a tenth of the idle interval)
// and the wait doubles up to the idle interval while the file stays still.
type poller struct {
	clock clock.Clock
	first time.Duration
	idle  time.Duration
	next  time.Duration
}

func newPoller(c clock.Clock, idle time.Duration) *poller {
	first := idle / 10
	if first <= 0 {
		first = idle
	}
	return &poller{clock: c, first: first, idle: idle, next: first}
}

// reset makes the next wait short again (the file just grew).
func (p *poller) reset() { p.next = p.first }

// wait sleeps for the current interval (or until ctx ends) and doubles it.
func (p *poller) wait(ctx context.Context) error {
	t := p.clock.NewTimer(p.next)
	defer t.Stop()
	p.next = min(2*p.next, p.idle)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}

// ParseRecord parses one CRI log line (without its newline).
func ParseRecord(line []byte) (Record, error) {
	var r Record
	i := bytes.IndexByte(line, ' ')
	if i < 0 {
		return r, fmt.Errorf("parsing log record: no timestamp")
	}
	t, err := time.Parse(time.RFC3339Nano, string(line[:i]))
	if err != nil {
		return r, fmt.Errorf("parsing log record timestamp: %w", err)
	}
	rest := line[i+1:]
	j := bytes.IndexByte(rest, ' ')
	if j < 0 {
		return r, fmt.Errorf("parsing log record: no stream")
	}
	r.Time, r.Stream = t, string(rest[:j])
	rest = rest[j+1:]
	// The tag may be followed by ":"-separated extras in newer formats; only P/F matter.
	k := bytes.IndexByte(rest, ' ')
	if k < 0 {
		// "ts stream F" with empty content and no trailing space.
		k = len(rest)
	}
	tag := rest[:k]
	if len(tag) == 0 || (tag[0] != tagFull && tag[0] != tagPartial) {
		return r, fmt.Errorf("parsing log record: bad tag %q", tag)
	}
	r.Partial = tag[0] == tagPartial
	if k < len(rest) {
		r.Content = rest[k+1:]
	}
	return r, nil
}

// tailOffset finds where the last n lines of f begin, scanning backwards. An unfinished
// record after the last newline (a write in progress) is not counted.
func tailOffset(f *os.File, n int64) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("stat log file: %w", err)
	}
	const block = 32 * 1024
	buf := make([]byte, block)
	header := make([]byte, 128)
	var ends int64
	recEnd, lastEnd := int64(-1), int64(-1) // just past the newline of the record examined / of the last record
	for pos := st.Size(); pos > 0; {
		readAt := max(pos-block, 0)
		chunk := buf[:pos-readAt]
		if _, err := f.ReadAt(chunk, readAt); err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("reading log file: %w", err)
		}
		for i := len(chunk) - 1; i >= 0; i-- {
			if chunk[i] != '\n' {
				continue
			}
			nl := readAt + int64(i)
			if recEnd < 0 {
				lastEnd = nl + 1
			} else if done, err := countLineEnd(f, header, nl+1, recEnd, recEnd == lastEnd, &ends, n); err != nil || done {
				return recEnd, err
			}
			recEnd = nl + 1
		}
		pos = readAt
	}
	if recEnd >= 0 {
		if done, err := countLineEnd(f, header, 0, recEnd, recEnd == lastEnd, &ends, n); err != nil || done {
			return recEnd, err
		}
	}
	return 0, nil
}

// countLineEnd looks at the record in [start, end): when it ends a line (an F record,
// or the file's last record) it counts one more line end; done reports that this is
// the (n+1)th line end from the back, so the tail starts at end.
func countLineEnd(f *os.File, header []byte, start, end int64, last bool, ends *int64, n int64) (bool, error) {
	h := header
	if end-start < int64(len(h)) {
		h = h[:end-start]
	}
	if _, err := f.ReadAt(h, start); err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("reading log file: %w", err)
	}
	lineEnd := last
	if rec, err := ParseRecord(bytes.TrimSuffix(h, []byte{'\n'})); err == nil && !rec.Partial {
		lineEnd = true
	}
	if !lineEnd {
		return false, nil
	}
	*ends++
	return *ends > n, nil
}
