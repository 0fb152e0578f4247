package process

import (
	"bytes"
	"errors"
	"os/exec"
	"strconv"
	"sync"
	"testing"

	"github.com/kjet-dev/kjet/internal/runtime"
)

func errorsIsNotFound(err error) bool { return errors.Is(err, runtime.ErrNotFound) }

func execCommand(name string, args ...string) *exec.Cmd { return exec.Command(name, args...) }

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
