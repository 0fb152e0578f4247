package process

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kjet-dev/kjet/internal/podlogs"
	"github.com/kjet-dev/kjet/internal/runtime"
)

// TestSupervisorIdleExitAndRecords: an idle supervisor exits by itself; the next
// client starts a new one that still knows the finished containers' exits.
func TestSupervisorIdleExitAndRecords(t *testing.T) {
	dir := t.TempDir()
	// Short, but long enough for a loaded machine to connect after starting it.
	argv := append(supervisorArgv(dir), "1500ms")
	rt, err := New(context.Background(), Options{Dir: dir, SupervisorArgv: argv})
	if err != nil {
		t.Fatal(err)
	}
	pid, err := rt.SupervisorPID()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shutdownSupervisor(t, dir, pid) })
	if _, err := rt.Start(context.Background(), runtime.ContainerConfig{ID: "done", Argv: []string{"sh", "-c", "exit 5"}}); err != nil {
		t.Fatal(err)
	}
	waitExited(t, rt, "done")
	rt.Close()
	if !waitFor(10*time.Second, func() bool { return !processAlive(pid, 0) }) {
		t.Fatalf("idle supervisor %d did not exit", pid)
	}

	rt2, err := New(context.Background(), Options{Dir: dir, SupervisorArgv: argv})
	if err != nil {
		t.Fatal(err)
	}
	defer rt2.Close()
	pid2, _ := rt2.SupervisorPID()
	t.Cleanup(func() { shutdownSupervisor(t, dir, pid2) })
	if pid2 == pid {
		t.Fatalf("same supervisor %d", pid)
	}
	st, err := rt2.Status(context.Background(), "done")
	if err != nil {
		t.Fatal(err)
	}
	if st.State != runtime.StateExited || st.ExitCode != 5 || st.Reason != "Error" {
		t.Fatalf("status after supervisor restart: %+v", st)
	}
}

// TestSupervisorKilled: a container whose supervisor died is adopted by the next
// one, can still be stopped, and ends as ContainerStatusUnknown since its exit code
// was lost with its parent.
func TestSupervisorKilled(t *testing.T) {
	rt, dir := newRuntime(t)
	ctx := context.Background()
	if _, err := rt.Start(ctx, runtime.ContainerConfig{ID: "orphan", Argv: []string{"sleep", "100"}}); err != nil {
		t.Fatal(err)
	}
	pid, err := rt.SupervisorPID()
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The client reconnects by itself, starting a new supervisor.
	var pid2 int
	if !waitFor(10*time.Second, func() bool {
		pid2, _ = rt.SupervisorPID()
		_, err := rt.Status(ctx, "orphan")
		return pid2 != pid && err == nil
	}) {
		t.Fatalf("no new supervisor (old %d, new %d)", pid, pid2)
	}
	t.Cleanup(func() { shutdownSupervisor(t, dir, pid2) })
	st, err := rt.Status(ctx, "orphan")
	if err != nil || st.State != runtime.StateRunning {
		t.Fatalf("adopted container: %+v %v", st, err)
	}
	exited := rt.Exited(ctx)
	if err := rt.Stop(ctx, "orphan", time.Second); err != nil {
		t.Fatal(err)
	}
	st, err = rt.Status(ctx, "orphan")
	if err != nil || st.State != runtime.StateExited || st.Reason != "ContainerStatusUnknown" || st.ExitCode != 137 {
		t.Fatalf("after stop: %+v %v", st, err)
	}
	select {
	case id := <-exited:
		if id != "orphan" {
			t.Fatalf("exit of %q", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit delivered")
	}
}

func TestTTYContainer(t *testing.T) {
	rt, _ := newRuntime(t)
	ctx := context.Background()
	logPath := logPathFor(t, "tty")
	_, err := rt.Start(ctx, runtime.ContainerConfig{
		ID: "tty", LogPath: logPath, TTY: true, Stdin: true,
		Argv: []string{"sh", "-c", `tty; echo ready; read a; stty size; echo "a=$a"`},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitLog(t, logPath, "ready")
	if _, err := rt.call(ctx, request{Op: opResize, ID: "tty", Width: 100, Height: 40}); err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- rt.Attach(actx, "tty", runtime.ExecOptions{Stdin: strings.NewReader("hello\n"), Stdout: out, TTY: true})
	}()
	st := waitExited(t, rt, "tty")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st.ExitCode != 0 {
		t.Fatalf("status %+v", st)
	}
	var log strings.Builder
	if err := podlogs.Read(ctx, logPath, podlogs.Options{}, &log); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/dev/pts/", "\n40 100\r\n", "\na=hello\r\n"} {
		if !strings.Contains(log.String(), want) {
			t.Fatalf("output lacks %q:\n%q", want, log.String())
		}
	}
}

func TestErrors(t *testing.T) {
	rt, _ := newRuntime(t)
	ctx := context.Background()
	if _, err := rt.Start(ctx, runtime.ContainerConfig{ID: "long", Argv: []string{"sleep", "100"}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		call     func() error
		notFound bool
	}{
		{"start with a used ID", func() error {
			_, err := rt.Start(ctx, runtime.ContainerConfig{ID: "long", Argv: []string{"true"}})
			return err
		}, false},
		{"start with a bad ID", func() error {
			_, err := rt.Start(ctx, runtime.ContainerConfig{ID: "../x", Argv: []string{"true"}})
			return err
		}, false},
		{"remove a running container", func() error { return rt.Remove(ctx, "long") }, false},
		{"status of an unknown container", func() error { _, err := rt.Status(ctx, "nope"); return err }, true},
		{"stop an unknown container", func() error { return rt.Stop(ctx, "nope", time.Second) }, true},
		{"exec in an unknown container", func() error {
			_, err := rt.Exec(ctx, "nope", runtime.ExecOptions{Argv: []string{"true"}})
			return err
		}, true},
		{"exec a missing binary", func() error {
			_, err := rt.Exec(ctx, "long", runtime.ExecOptions{Argv: []string{"slepp"}})
			return err
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil {
				t.Fatal("no error")
			}
			if errorsIsNotFound(err) != tc.notFound {
				t.Fatalf("error %v: not-found %v, want %v", err, errorsIsNotFound(err), tc.notFound)
			}
		})
	}
	if err := rt.Stop(ctx, "long", time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Exec(ctx, "long", runtime.ExecOptions{Argv: []string{"true"}}); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Fatalf("exec in a stopped container: %v", err)
	}
}

// TestLongDirectory: a directory whose socket path is too long for bind(2) still works.
func TestLongDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 100))
	if len(socketPath(dir)) <= maxSocketPath {
		t.Fatalf("path %s is not long enough for this test", dir)
	}
	rt, err := New(context.Background(), Options{Dir: dir, SupervisorArgv: supervisorArgv(dir)})
	if err != nil {
		t.Fatal(err)
	}
	pid, err := rt.SupervisorPID()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shutdownSupervisor(t, dir, pid) })
	defer rt.Close()
	if _, err := rt.Start(context.Background(), runtime.ContainerConfig{ID: "x", Argv: []string{"true"}}); err != nil {
		t.Fatal(err)
	}
	if st := waitExited(t, rt, "x"); st.Reason != "Completed" {
		t.Fatalf("status %+v", st)
	}
}

// TestNewCanceledWhileStartingSupervisor: a caller that gives up while the supervisor
// is being started (a server shutting down during its start-up) gets its own
// cancellation back, not a "supervisor failed" error.
func TestNewCanceledWhileStartingSupervisor(t *testing.T) {
	dir := t.TempDir()
	started := filepath.Join(dir, "started")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := New(ctx, Options{Dir: dir, SupervisorArgv: []string{"sh", "-c", "touch " + started + "; exec sleep 30"}})
		errc <- err
	}()
	if !waitFor(10*time.Second, func() bool { _, err := os.Stat(started); return err == nil }) {
		t.Fatal("the supervisor command never started")
	}
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("New after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("New did not return after its context was canceled")
	}
}
