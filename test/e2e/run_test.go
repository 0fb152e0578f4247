package e2e

import (
	"bytes"
	"context"
	"errors"
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

	"github.com/creack/pty"
)

// runResult is one `kjet run` invocation's outcome.
type runResult struct {
	stdout, stderr string
	code           int
}

// kjetRunCmd prepares `kjet run ARGS` with a fresh HOME and data dir (so no server
// answers there and run starts an embedded one) and a private TMPDIR whose embedded
// servers' supervisors are reaped when the test ends.
func kjetRunCmd(t *testing.T, ctx context.Context, args ...string) *exec.Cmd {
	t.Helper()
	tmp := t.TempDir()
	cmd := exec.CommandContext(ctx, kjetBinary, append([]string{"run"}, args...)...)
	cmd.Dir = repoRoot
	cmd.Env = append(cleanEnv(), "HOME="+t.TempDir(), "KJET_DATA_DIR="+filepath.Join(tmp, "none"), "TMPDIR="+tmp)
	cmd.WaitDelay = 5 * time.Second
	t.Cleanup(func() {
		dirs, _ := filepath.Glob(filepath.Join(tmp, "kjet-run-*"))
		for _, d := range dirs {
			reapSupervisorIn(t, d)
		}
	})
	return cmd
}

func kjetRun(t *testing.T, stdin io.Reader, args ...string) runResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := kjetRunCmd(t, ctx, args...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := runResult{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	default:
		t.Fatalf("kjet run %v: %v\n%s%s", args, err, res.stdout, res.stderr)
	}
	if ctx.Err() != nil {
		t.Fatalf("kjet run %v timed out\n%s%s", args, res.stdout, res.stderr)
	}
	return res
}

// reapSupervisorIn stops the supervisor of dataDir if one is still running.
func reapSupervisorIn(t *testing.T, dataDir string) {
	data, err := os.ReadFile(filepath.Join(dataDir, "supervisor", "supervisor.pid"))
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid))); err != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	t.Logf("supervisor %d of %s needed SIGKILL", pid, dataDir)
}

// TestRunPiExample is the README's first command: the pi Job on an embedded server.
func TestRunPiExample(t *testing.T) {
	t.Parallel()
	res := kjetRun(t, nil, "-f", "examples/pi.yaml")
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	for _, want := range []string{
		"job.batch/pi created",
		"3.14159265358979323846264338327950288419716939937510", // the log line, prefixed with the pod
		"job/pi Complete (CompletionsReached: Reached expected number of succeeded pods): succeeded 1/1, failed 0",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, res.stdout)
		}
	}
	if strings.Contains(res.stdout, "\x1b[") {
		t.Error("stdout is not a terminal but has escape codes")
	}
}

// TestRunFailingJobAgainstServer runs a failing Job on an existing server (through
// --kubeconfig): exit 1, and the summary names each failed pod's exit code.
func TestRunFailingJobAgainstServer(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--job-backoff-base=50ms")
	res := kjetRun(t, nil, "--kubeconfig", s.Kubeconfig, "-f", "examples/abnormal-end-two-containers.yaml")
	if res.code != 1 {
		t.Fatalf("exit code %d, want 1\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stdout, "job/abnormal-end-two-containers Failed (BackoffLimitExceeded: Job has reached the specified backoff limit): succeeded 0/1, failed 3") {
		t.Errorf("summary missing:\n%s", res.stdout)
	}
	if n := strings.Count(res.stdout, "busybox-1 exit code 1 (Error)"); n != 3 {
		t.Errorf("summary lists %d failed pods with busybox-1 exit code 1, want 3:\n%s", n, res.stdout)
	}
	// The Job stays on the server for inspection.
	s.mustKubectl(t, "get", "job", "abnormal-end-two-containers")
}

// TestRunBadInput: an invalid manifest exits 2 with kubectl's wording and creates
// nothing, even the valid objects before it in the file.
func TestRunBadInput(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	manifest := `apiVersion: v1
kind: ConfigMap
metadata:
  name: before
data:
  a: b
---
apiVersion: batch/v1
kind: Job
metadata:
  name: bad
spec:
  parallelism: -1
  template:
    spec:
      containers:
      - name: c
        image: busybox
        command: ["true"]
`
	res := kjetRun(t, strings.NewReader(manifest), "--kubeconfig", s.Kubeconfig, "-f", "-")
	if res.code != 2 {
		t.Fatalf("exit code %d, want 2\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	for _, want := range []string{
		`The Job "bad" is invalid:`,
		"spec.parallelism: Invalid value: -1: must be greater than or equal to 0",
		`spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`,
	} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
		}
	}
	if out, _, _ := s.Kubectl(t, "get", "configmap", "before"); strings.Contains(out, "before") {
		t.Error("the ConfigMap before the invalid Job was created")
	}
	if res := kjetRun(t, nil, "-f", filepath.Join(t.TempDir(), "missing.yaml")); res.code != 2 {
		t.Errorf("unreadable file: exit code %d, want 2", res.code)
	}
}

// TestRunTerminalProgress drives terminal mode through a pty: the progress line is
// redrawn in place and the run still ends with the summary.
func TestRunTerminalProgress(t *testing.T) {
	t.Parallel()
	manifest := writeFile(t, "job.yaml", seedJob("ticker", "  completions: 2\n  parallelism: 1\n", `["sh", "-c", "echo tick; sleep 1; echo tock"]`, "Never"))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := kjetRunCmd(t, ctx, "-f", manifest)
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 200})
	if err != nil {
		t.Fatalf("starting kjet run on a pty: %v", err)
	}
	defer tty.Close()
	var out bytes.Buffer
	var mu sync.Mutex
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	err = cmd.Wait()
	<-copied
	mu.Lock()
	text := out.String()
	mu.Unlock()
	if err != nil {
		t.Fatalf("kjet run on a pty: %v\n%q", err, text)
	}
	if !strings.Contains(text, "\x1b[1A\r\x1b[J") {
		t.Errorf("no in-place redraw of the progress line:\n%q", text)
	}
	if !strings.Contains(text, "succeeded 1/2") || !strings.Contains(text, "tock") {
		t.Errorf("progress or logs missing:\n%q", text)
	}
	if !strings.Contains(text, "Complete") {
		t.Errorf("no summary:\n%q", text)
	}
}

// TestRunInterruptDeletesJob: SIGINT while the Job runs deletes it and exits 130.
func TestRunInterruptDeletesJob(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	manifest := writeFile(t, "job.yaml", seedJob("long", "", `["sh", "-c", "echo started; sleep 600"]`, "Never"))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := kjetRunCmd(t, ctx, "--kubeconfig", s.Kubeconfig, "-f", manifest)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the pod's first log line", func() (bool, string) {
		out, _, _ := s.Kubectl(t, "get", "pods", "-l", "job-name=long", "--no-headers")
		return strings.Contains(out, "Running"), out
	})
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Fatalf("exit: %v, want code 130\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "job.batch/long deleted") {
		t.Errorf("stderr does not say the Job was deleted:\n%s", stderr.String())
	}
	eventually(t, 60*time.Second, "the Job and its pod gone", func() (bool, string) {
		out, _, _ := s.Kubectl(t, "get", "jobs,pods", "--no-headers")
		return strings.TrimSpace(out) == "", out
	})
}
