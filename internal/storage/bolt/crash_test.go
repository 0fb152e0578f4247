package bolt_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kjet-dev/kjet/internal/storage"
	"github.com/kjet-dev/kjet/internal/storage/bolt"
)

// crashDirEnv switches the test binary into crash-writer mode (see TestCrashWriter).
const crashDirEnv = "KJET_BOLT_CRASH_DB"

// crashRoundEnv is the round number the writer puts in its keys.
const crashRoundEnv = "KJET_BOLT_CRASH_ROUND"

const crashWriters = 4

// crashValue builds a self-checking value for key: a length, a body derived from the
// key and seq, and the SHA-256 of both. A torn write cannot pass checkCrashValue.
func crashValue(key string, seq int) []byte {
	size := 64 + (seq*997)%6000
	body := make([]byte, 4+size)
	binary.BigEndian.PutUint32(body, uint32(size))
	seed := sha256.Sum256([]byte(fmt.Sprintf("%s#%d", key, seq)))
	for i := 4; i < len(body); i++ {
		body[i] = seed[i%len(seed)] ^ byte(i)
	}
	sum := sha256.Sum256(body)
	return append(body, sum[:]...)
}

func checkCrashValue(v []byte) error {
	if len(v) < 4+sha256.Size {
		return fmt.Errorf("value of %d bytes is too short", len(v))
	}
	body, sum := v[:len(v)-sha256.Size], v[len(v)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return fmt.Errorf("checksum mismatch")
	}
	if size := binary.BigEndian.Uint32(body); int(size) != len(body)-4 {
		return fmt.Errorf("length %d, body has %d bytes", size, len(body)-4)
	}
	return nil
}

// TestCrashWriter is the child process of TestCrashKeepsAcknowledgedWrites: it writes
// to the store named by $KJET_BOLT_CRASH_DB until it is killed, printing one line per
// acknowledged write: "create KEY REV", "update KEY REV" or "delete KEY REV". Each of
// crashWriters goroutines creates keys, updates a hot key of its own every third step
// and deletes the key it created three steps earlier every seventh step.
func TestCrashWriter(t *testing.T) {
	path := os.Getenv(crashDirEnv)
	if path == "" {
		t.Skip("helper process for TestCrashKeepsAcknowledgedWrites")
	}
	round := os.Getenv(crashRoundEnv)
	s, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	// The parent kills us long before this; it only bounds an orphan's life.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var (
		outMu sync.Mutex
		wg    sync.WaitGroup
	)
	ack := func(verb, key string, rev int64) {
		outMu.Lock()
		defer outMu.Unlock()
		// One write(2) per line, each well under PIPE_BUF: lines never interleave.
		fmt.Fprintf(os.Stdout, "%s %s %d\n", verb, key, rev)
	}
	for g := range crashWriters {
		wg.Go(func() {
			hot := fmt.Sprintf("/registry/crash/hot/g%d", g)
			for n := 0; ctx.Err() == nil; n++ {
				key := fmt.Sprintf("/registry/crash/r%s/g%d/%d", round, g, n)
				rev, err := s.Create(ctx, key, crashValue(key, n))
				if err != nil {
					t.Errorf("Create: %v", err)
					return
				}
				ack("create", key, rev)
				if n%3 == 0 {
					rev, err := s.Update(ctx, hot, crashValue(hot, n), 0)
					if errors.Is(err, storage.ErrNotFound) {
						rev, err = s.Create(ctx, hot, crashValue(hot, n))
					}
					if err != nil {
						t.Errorf("writing %s: %v", hot, err)
						return
					}
					ack("update", hot, rev)
				}
				if n%7 == 0 && n >= 3 {
					old := fmt.Sprintf("/registry/crash/r%s/g%d/%d", round, g, n-3)
					kv, err := s.Delete(ctx, old, 0)
					if err != nil {
						t.Errorf("Delete: %v", err)
						return
					}
					ack("delete", old, kv.ModRevision)
				}
			}
		})
	}
	wg.Wait()
}

// TestCrashKeepsAcknowledgedWrites kills a writing process with SIGKILL at a few points
// and checks that every write it acknowledged survived, with its revision, and that no
// value is torn.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("running as the crash writer")
	}
	path := filepath.Join(t.TempDir(), "state.db")
	created := make(map[string]int64) // acknowledged creates not (yet) known deleted
	deleted := make(map[string]int64) // acknowledged deletes
	hot := make(map[string]int64)     // highest acknowledged revision per hot key
	var maxAcked int64
	for round, lines := range []int{40, 400, 150, 1, 1000, 7} {
		acks := runCrashWriter(t, path, round, lines)
		for _, a := range acks {
			maxAcked = max(maxAcked, a.rev)
			switch a.verb {
			case "create":
				created[a.key] = a.rev
			case "update":
				hot[a.key] = max(hot[a.key], a.rev)
			case "delete":
				delete(created, a.key)
				deleted[a.key] = a.rev
			}
		}
		verifyCrashState(t, path, created, deleted, hot, maxAcked)
		if t.Failed() {
			t.Fatalf("round %d: acknowledged writes lost or torn", round)
		}
		t.Logf("round %d: %d acknowledged writes, store at revision %d or later", round, len(acks), maxAcked)
	}
}

type crashAck struct {
	verb, key string
	rev       int64
}

// runCrashWriter starts the writer, kills it after it acknowledged at least lines
// writes, and returns every write it acknowledged.
func runCrashWriter(t *testing.T, path string, round, lines int) []crashAck {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashWriter$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+path, fmt.Sprintf("%s=%d", crashRoundEnv, round))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("stdout pipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting writer: %v", err)
	}
	reaped := false
	t.Cleanup(func() {
		if !reaped {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	// Kill the writer once it has acknowledged enough, or at the deadline.
	deadline := time.AfterFunc(5*time.Second, func() { _ = cmd.Process.Kill() })
	defer deadline.Stop()

	var acks []crashAck
	sc := bufio.NewScanner(stdout)
	killed := false
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || (f[0] != "create" && f[0] != "update" && f[0] != "delete") {
			continue // the test framework's own output
		}
		var rev int64
		if _, err := fmt.Sscan(f[2], &rev); err != nil {
			t.Fatalf("writer printed %q: %v", sc.Text(), err)
		}
		acks = append(acks, crashAck{f[0], f[1], rev})
		if !killed && len(acks) >= lines {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatalf("killing writer: %v", err)
			}
			killed = true
		}
		// Keep reading: lines already in the pipe were acknowledged before the kill.
	}
	err = cmd.Wait()
	reaped = true
	if !killed {
		t.Fatalf("writer stopped after %d acknowledged writes (want %d): %v\n%s", len(acks), lines, err, stderr.String())
	}
	return acks
}

// verifyCrashState reopens the store and checks it against the acknowledged writes.
func verifyCrashState(t *testing.T, path string, created, deleted, hot map[string]int64, maxAcked int64) {
	t.Helper()
	s, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatalf("reopening after kill: %v", err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	if rev := s.Revision(); rev < maxAcked {
		t.Errorf("store revision %d is older than acknowledged revision %d", rev, maxAcked)
	}
	res, err := s.List(context.Background(), "/registry/crash/", storage.ListOptions{})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	present := make(map[string]storage.KeyValue, len(res.Items))
	for _, kv := range res.Items {
		present[kv.Key] = kv
		if err := checkCrashValue(kv.Value); err != nil {
			t.Errorf("%s at revision %d: torn value: %v", kv.Key, kv.ModRevision, err)
		}
		if kv.ModRevision > s.Revision() || kv.CreateRevision > kv.ModRevision {
			t.Errorf("%s: revisions create=%d mod=%d inconsistent with store revision %d", kv.Key, kv.CreateRevision, kv.ModRevision, s.Revision())
		}
	}
	for key, rev := range created {
		kv, ok := present[key]
		if !ok {
			// Only a delete in flight at the kill may have removed it.
			if !deleteAttempted(key) {
				t.Errorf("acknowledged create of %s at revision %d is lost", key, rev)
			}
			continue
		}
		if kv.CreateRevision != rev || kv.ModRevision != rev {
			t.Errorf("%s: create=%d mod=%d, acknowledged at revision %d", key, kv.CreateRevision, kv.ModRevision, rev)
		}
	}
	for key, rev := range deleted {
		if _, ok := present[key]; ok {
			t.Errorf("acknowledged delete of %s at revision %d is lost", key, rev)
		}
	}
	for key, rev := range hot {
		kv, ok := present[key]
		if !ok {
			t.Errorf("hot key %s is lost (acknowledged up to revision %d)", key, rev)
		} else if kv.ModRevision < rev {
			t.Errorf("hot key %s at revision %d, acknowledged at %d", key, kv.ModRevision, rev)
		}
	}
}

// deleteAttempted reports whether the writer deletes key (created at step n) later:
// at step n+3 when n+3 is a multiple of 7.
func deleteAttempted(key string) bool {
	var n int
	if _, err := fmt.Sscan(key[strings.LastIndexByte(key, '/')+1:], &n); err != nil {
		return false
	}
	return (n+3)%7 == 0
}
