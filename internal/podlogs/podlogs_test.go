package podlogs

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func ptr[T any](v T) *T { return &v }

// writeSample writes a log with one record per second starting at t0.
func writeSample(t *testing.T, path string, t0 time.Time) {
	t.Helper()
	clk := clocktesting.NewFakePassiveClock(t0)
	out, err := NewWriterWithOptions(path, Stdout, WriterOptions{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	errw, err := NewWriterWithOptions(path, Stderr, WriterOptions{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	defer errw.Close()
	steps := []struct {
		w    *Writer
		data string
	}{
		{out, "one\n"},
		{errw, "two\n"},
		{out, "thr"}, // partial
		{out, "ee\nfour\n"},
		{errw, "five"}, // unfinished at the end
	}
	for _, s := range steps {
		if _, err := s.w.Write([]byte(s.data)); err != nil {
			t.Fatal(err)
		}
		clk.SetTime(clk.Now().Add(time.Second))
	}
}

func TestWriterFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c", "0.log")
	t0 := time.Date(2016, 10, 6, 0, 17, 9, 669794202, time.UTC)
	writeSample(t, path, t0)
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "2016-10-06T00:17:09.669794202Z stdout F one\n" +
		"2016-10-06T00:17:10.669794202Z stderr F two\n" +
		"2016-10-06T00:17:11.669794202Z stdout P thr\n" +
		"2016-10-06T00:17:12.669794202Z stdout F ee\n" +
		"2016-10-06T00:17:12.669794202Z stdout F four\n" +
		"2016-10-06T00:17:13.669794202Z stderr P five\n"
	if string(got) != want {
		t.Fatalf("log file:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriterSplitsLongLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	w, err := NewWriter(path, Stdout)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", maxRecordBytes+10)
	if _, err := w.Write([]byte(long + "\n")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	var buf bytes.Buffer
	if err := Read(context.Background(), path, Options{}, &buf); err != nil {
		t.Fatal(err)
	}
	if buf.String() != long+"\n" {
		t.Fatalf("read %d bytes, want %d", buf.Len(), len(long)+1)
	}
	var tail bytes.Buffer
	if err := Read(context.Background(), path, Options{TailLines: ptr[int64](1)}, &tail); err != nil {
		t.Fatal(err)
	}
	if tail.String() != long+"\n" {
		t.Fatalf("tail 1 of a split line read %d bytes", tail.Len())
	}
}

func TestRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	t0 := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	writeSample(t, path, t0)
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"all", Options{}, "one\ntwo\nthree\nfour\nfive"},
		{"tail 2", Options{TailLines: ptr[int64](2)}, "four\nfive"},
		{"tail 3 joins partials", Options{TailLines: ptr[int64](3)}, "three\nfour\nfive"},
		{"tail 0", Options{TailLines: ptr[int64](0)}, ""},
		{"tail more than there is", Options{TailLines: ptr[int64](100)}, "one\ntwo\nthree\nfour\nfive"},
		{"stdout only", Options{Stream: "Stdout"}, "one\nthree\nfour\n"},
		{"stderr only", Options{Stream: "Stderr"}, "two\nfive"},
		{"since time", Options{SinceTime: ptr(t0.Add(3 * time.Second))}, "ee\nfour\nfive"},
		{"since seconds", Options{SinceSeconds: ptr[int64](2), Clock: clocktesting.NewFakeClock(t0.Add(4 * time.Second))}, "three\nfour\nfive"},
		{"limit bytes", Options{LimitBytes: ptr[int64](6)}, "one\ntw"},
		{"timestamps", Options{Timestamps: true, TailLines: ptr[int64](1)}, "2024-01-02T03:04:09Z five"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Read(context.Background(), path, tc.opts, &buf); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tc.want {
				t.Fatalf("got %q, want %q", buf.String(), tc.want)
			}
		})
	}
}

func TestReadMissingFile(t *testing.T) {
	var buf bytes.Buffer
	if err := Read(context.Background(), filepath.Join(t.TempDir(), "none.log"), Options{}, &buf); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 0 {
		t.Fatalf("got %q", buf.String())
	}
}

// TestFollow writes while a follower reads, then stops the "container": the follower
// must return with everything written, including what came just before the stop.
func TestFollow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	var running atomic.Bool
	running.Store(true)
	w, err := NewWriter(path, Stdout)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Read(context.Background(), path, Options{Follow: true, Running: running.Load, PollInterval: time.Millisecond}, pw)
		pw.Close()
	}()
	lines := make(chan string, 10)
	go func() {
		buf := make([]byte, 1024)
		var acc string
		for {
			n, err := pr.Read(buf)
			acc += string(buf[:n])
			for strings.Contains(acc, "\n") {
				i := strings.IndexByte(acc, '\n')
				lines <- acc[:i]
				acc = acc[i+1:]
			}
			if err != nil {
				close(lines)
				return
			}
		}
	}()
	w.Write([]byte("a\n"))
	if got := <-lines; got != "a" {
		t.Fatalf("first line %q", got)
	}
	w.Write([]byte("b\n"))
	running.Store(false)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := <-lines; got != "b" {
		t.Fatalf("second line %q", got)
	}
}

func TestMakeDir(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "exists"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		dir     string
		wantErr bool
	}{
		{"parent exists", "new", false},
		{"already there", "exists", false},
		{"parents missing", "a/b/c", false},
		{"a file in the way", "file/sub", true},
		{"the path is a file", "file", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(root, tt.dir)
			err := MakeDir(dir)
			if (err != nil) != tt.wantErr {
				t.Fatalf("MakeDir(%s) = %v, want error: %v", tt.dir, err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
				t.Errorf("%s is not a directory after MakeDir: %v", tt.dir, err)
			}
		})
	}
}

func TestNewWritersShareTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "c_0.log")
	out, errw, err := NewWriters(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		w    *Writer
		text string
	}{{out, "to stdout\n"}, {errw, "to stderr\n"}, {out, "stdout again\n"}} {
		if _, err := step.w.Write([]byte(step.text)); err != nil {
			t.Fatal(err)
		}
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := errw.Write([]byte("after stdout closed\n")); err != nil {
		t.Fatalf("stderr writer failed once stdout closed: %v", err)
	}
	if err := errw.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := out.Write([]byte("x\n")); err == nil {
		t.Error("a closed writer wrote")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		_, rest, _ := strings.Cut(line, " ") // the timestamp
		got = append(got, rest)
	}
	want := []string{"stdout F to stdout", "stderr F to stderr", "stdout F stdout again", "stderr F after stdout closed"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("records = %q, want %q", got, want)
	}
}
