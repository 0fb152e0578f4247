package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// kjetBinary is the binary TestMain builds; set once before any test runs.
var kjetBinary string

// repoRoot is the module root (two levels up from test/e2e).
var repoRoot = func() string {
	wd, err := os.Getwd()
	if err != nil {
		return "../.."
	}
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}()

// Deadlines for the harness.
const (
	readyTimeout   = 30 * time.Second
	commandTimeout = 60 * time.Second
	stopTimeout    = 15 * time.Second
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "kjet-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	kjetBinary = filepath.Join(dir, "kjet")
	// The tag README.md's build uses: the tests run the binary users build.
	build := exec.Command("go", "build", "-tags", "kustomize_disable_go_plugin_support", "-o", kjetBinary, "./cmd/kjet")
	build.Dir = repoRoot
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building kjet:", err)
		return 1
	}
	return m.Run()
}

// Server is one running `kjet server` process.
type Server struct {
	// DataDir is the server's --data-dir; Kubeconfig is DataDir/kubeconfig.
	DataDir, Kubeconfig string
	// URL is the address from the "kjet ready:" line.
	URL string
	// Home is a fresh HOME for kubectl runs against this server (its discovery and
	// OpenAPI caches live there).
	Home string
	// StartupTime is from process start to the ready line.
	StartupTime time.Duration

	cmd    *exec.Cmd
	done   chan struct{} // closed when the process has been waited for
	err    error         // the process's exit error, set before done closes
	stderr *lockedBuffer
}

// startServer starts `kjet server` on a new temporary data dir and a free port, and
// waits for its ready line.
func startServer(t *testing.T, extraArgs ...string) *Server {
	t.Helper()
	return startServerIn(t, t.TempDir(), extraArgs...)
}

// startServerIn starts `kjet server` on dataDir (for restarts on the same data).
func startServerIn(t *testing.T, dataDir string, extraArgs ...string) *Server {
	t.Helper()
	args := append([]string{"server", "--data-dir", dataDir, "--listen", "127.0.0.1:0"}, extraArgs...)
	cmd := exec.Command(kjetBinary, args...)
	cmd.Env = append(cleanEnv(), "HOME="+t.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	cmd.Stdout = io.Discard
	s := &Server{
		DataDir:    dataDir,
		Kubeconfig: filepath.Join(dataDir, "kubeconfig"),
		Home:       t.TempDir(),
		cmd:        cmd,
		done:       make(chan struct{}),
		stderr:     &lockedBuffer{},
	}
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting kjet server: %v", err)
	}
	go func() {
		s.err = cmd.Wait()
		pw.Close()
		close(s.done)
	}()
	t.Cleanup(func() {
		s.killGroup()
		<-s.done
		reapSupervisor(t, dataDir)
		reapDataDirProcesses(t, dataDir)
		if t.Failed() {
			t.Logf("kjet server stderr:\n%s", s.stderr.String())
		}
	})

	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			s.stderr.WriteLine(line)
			if !sent && strings.HasPrefix(line, "kjet ready: ") {
				ready <- strings.TrimPrefix(line, "kjet ready: ")
				sent = true
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	timer := time.NewTimer(readyTimeout)
	defer timer.Stop()
	select {
	case u := <-ready:
		s.URL = u
		s.StartupTime = time.Since(begin)
	case <-s.done:
		t.Fatalf("kjet server exited before ready (%v):\n%s", s.err, s.stderr.String())
	case <-timer.C:
		t.Fatalf("kjet server not ready after %v:\n%s", readyTimeout, s.stderr.String())
	}
	return s
}

// killGroup sends SIGKILL to the server's whole process group (it and any pods).
func (s *Server) killGroup() {
	if s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// Kill9 kills the server with SIGKILL and waits for it to be gone.
func (s *Server) Kill9(t *testing.T) {
	t.Helper()
	s.killGroup()
	s.wait(t)
}

// Stop sends SIGTERM and returns the process's exit error (nil for exit status 0).
func (s *Server) Stop(t *testing.T) error {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("sending SIGTERM: %v", err)
	}
	s.wait(t)
	return s.err
}

func (s *Server) wait(t *testing.T) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(stopTimeout):
		s.killGroup()
		t.Fatalf("kjet server did not exit within %v", stopTimeout)
	}
}

// Stderr is what the server printed so far.
func (s *Server) Stderr() string { return s.stderr.String() }

// Kubectl runs `kjet kubectl ARGS` against the server (through DATA_DIR/kubeconfig,
// found via KJET_DATA_DIR) with the server's fresh HOME.
func (s *Server) Kubectl(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return s.run(t, kjetBinary, append([]string{"kubectl"}, args...), "KJET_DATA_DIR="+s.DataDir)
}

// KubectlStdin is Kubectl with stdin.
func (s *Server) KubectlStdin(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return s.runWithStdin(t, strings.NewReader(stdin), kjetBinary, append([]string{"kubectl"}, args...), "KJET_DATA_DIR="+s.DataDir)
}

// systemKubectl is the kubectl installed on the machine, if any.
const systemKubectl = "/usr/bin/kubectl"

// SystemKubectl runs the machine's kubectl with --kubeconfig; the test is skipped
// when none is installed.
func (s *Server) SystemKubectl(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	if _, err := os.Stat(systemKubectl); err != nil {
		t.Skipf("no system kubectl at %s", systemKubectl)
	}
	return s.run(t, systemKubectl, append([]string{"--kubeconfig", s.Kubeconfig}, args...))
}

func (s *Server) run(t *testing.T, bin string, args []string, env ...string) (string, string, error) {
	t.Helper()
	return s.runWithStdin(t, nil, bin, args, env...)
}

// runWithHome runs bin with its own HOME (separate kubectl caches).
func (s *Server) runWithHome(t *testing.T, home, bin string, args []string) (string, string, error) {
	t.Helper()
	return s.runIn(t, home, nil, bin, args)
}

func (s *Server) runWithStdin(t *testing.T, stdin io.Reader, bin string, args []string, env ...string) (string, string, error) {
	t.Helper()
	return s.runIn(t, s.Home, stdin, bin, args, env...)
}

func (s *Server) runIn(t *testing.T, home string, stdin io.Reader, bin string, args []string, env ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(append(cleanEnv(), "HOME="+home), env...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		err = errors.Join(err, fmt.Errorf("%s %s: timed out after %v", filepath.Base(bin), strings.Join(args, " "), commandTimeout))
	}
	return stdout.String(), stderr.String(), err
}

// mustKubectl runs kjet kubectl and fails the test on a non-zero exit.
func (s *Server) mustKubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := s.Kubectl(t, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// cleanEnv is the test process's environment without variables that would point
// kubectl or kjet elsewhere.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "KUBECONFIG", "KJET_DATA_DIR", "HOME":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// lockedBuffer collects the server's stderr lines.
type lockedBuffer struct {
	mu  sync.Mutex // guards buf
	buf strings.Builder
}

func (b *lockedBuffer) WriteLine(l string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(l)
	b.buf.WriteByte('\n')
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// reapDataDirProcesses ends every process still working for the data dir after the
// server and its supervisor were stopped (reapSupervisor finds the supervisor by its pid
// file, which a supervisor started just as the server died may not have written yet; its
// pods run in their own sessions). They are found by the data dir in their command line
// or working directory, asked to stop (SIGTERM) and killed if they have not within the
// deadline.
func reapDataDirProcesses(t *testing.T, dataDir string) {
	t.Helper()
	deadline := time.Now().Add(stopTimeout)
	sig := syscall.SIGTERM
	// A supervisor being started (in its own session) as the server died can appear
	// a little later: only several empty scans in a row mean none is left.
	const emptyScans = 5
	for empty := 0; ; {
		pids := dataDirProcesses(dataDir)
		if len(pids) == 0 {
			if empty++; empty == emptyScans {
				return
			}
			time.Sleep(20 * time.Millisecond) // polling interval
			continue
		}
		empty = 0
		if time.Now().After(deadline) {
			if sig == syscall.SIGKILL {
				t.Errorf("processes %v of data dir %s survived SIGKILL", pids, dataDir)
				return
			}
			sig, deadline = syscall.SIGKILL, time.Now().Add(stopTimeout)
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, sig)
		}
		time.Sleep(50 * time.Millisecond) // polling interval while they exit
	}
}

// dataDirProcesses lists the processes (other than this one) whose command line
// mentions dataDir or whose working directory is inside it.
func dataDirProcesses(dataDir string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		proc := filepath.Join("/proc", e.Name())
		stat, err := os.ReadFile(filepath.Join(proc, "stat"))
		if err != nil || zombie(stat) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(proc, "cmdline"))
		cwd, _ := os.Readlink(filepath.Join(proc, "cwd"))
		if strings.Contains(string(cmdline), dataDir) || cwd == dataDir || strings.HasPrefix(cwd, dataDir+"/") {
			pids = append(pids, pid)
		}
	}
	return pids
}

// zombie reports whether a /proc/PID/stat line is of an exited, unreaped process.
func zombie(stat []byte) bool {
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}
