package process

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kjet-dev/kjet/internal/runtime"
)

// The test binary plays three extra roles, chosen by its first argument:
//
//	kjet-supervisor --dir DIR          the supervisor (what `kjet supervisor` runs)
//	kjet-test-server DIR ID LOG MARKER TRIGGER  a "server" holding a Runtime, killed by a test
//	kjet-test-alloc                    a container that allocates 256 MiB
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "kjet-supervisor":
			os.Exit(runTestSupervisor(os.Args[2:]))
		case "kjet-test-server":
			os.Exit(runTestServer(os.Args[2:]))
		case "kjet-test-alloc":
			os.Exit(allocate(256 << 20))
		}
	}
	os.Exit(m.Run())
}

// cpuProfileEnv names a file the test supervisor writes its CPU profile to:
//
//	KJET_TEST_SUPERVISOR_CPUPROFILE=/tmp/sup.pprof go test -run xxx -bench StartTrue
//
// writes /tmp/sup.pprof.<supervisor pid>, one per supervisor started.
const cpuProfileEnv = "KJET_TEST_SUPERVISOR_CPUPROFILE"

func runTestSupervisor(args []string) int {
	if len(args) < 2 || args[0] != "--dir" {
		fmt.Fprintln(os.Stderr, "usage: kjet-supervisor --dir DIR [IDLE-TIMEOUT]")
		return 2
	}
	opts := SupervisorOptions{Dir: args[1]}
	if len(args) > 2 {
		d, err := time.ParseDuration(args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		opts.IdleTimeout = d
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// For profiling the supervisor under a benchmark: it writes a CPU profile to
	// PATH.PID until it exits.
	if path := os.Getenv(cpuProfileEnv); path != "" {
		f, err := os.Create(fmt.Sprintf("%s.%d", path, os.Getpid()))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	OneSupervisorThread()
	if err := RunSupervisor(ctx, opts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// runTestServer starts one container, says so on stdout and waits to be killed.
func runTestServer(args []string) int {
	dir, id, logPath, marker, trigger := args[0], args[1], args[2], args[3], args[4]
	ctx := context.Background()
	rt, err := New(ctx, Options{Dir: dir, SupervisorArgv: supervisorArgv(dir)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	_, err = rt.Start(ctx, runtime.ContainerConfig{
		ID:      id,
		Argv:    []string{"sh", "-c", "echo ran >> " + marker + "; sleep 2; echo done"},
		LogPath: logPath,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// Exits only once the test creates the trigger file, after this "server" is dead.
	_, err = rt.Start(ctx, runtime.ContainerConfig{
		ID:   id + "-unwatched",
		Argv: []string{"sh", "-c", "while [ ! -e " + trigger + " ]; do sleep 0.01; done; exit 4"},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("started")
	select {} // until SIGKILL
}

func allocate(n int) int {
	var chunks [][]byte
	for len(chunks)*(1<<20) < n {
		b := make([]byte, 1<<20)
		for i := range b {
			b[i] = byte(i)
		}
		chunks = append(chunks, b)
	}
	fmt.Println("allocated", len(chunks), "MiB")
	return 0
}

func supervisorArgv(dir string) []string {
	self, err := os.Executable()
	if err != nil {
		panic(err)
	}
	return []string{self, "kjet-supervisor", "--dir", dir}
}

// newRuntime connects a Runtime to a fresh supervisor; cleanup shuts it down and
// makes sure its process is gone.
func newRuntime(t testing.TB) (*Runtime, string) {
	t.Helper()
	dir := t.TempDir()
	rt, err := New(context.Background(), Options{Dir: dir, SupervisorArgv: supervisorArgv(dir)})
	if err != nil {
		t.Fatal(err)
	}
	pid, err := rt.SupervisorPID()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shutdownSupervisor(t, dir, pid) })
	t.Cleanup(rt.Close)
	return rt, dir
}

// shutdownSupervisor stops the supervisor for dir (and its containers), killing it
// if it does not go in time.
func shutdownSupervisor(t testing.TB, dir string, pid int) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if rt, err := New(ctx, Options{Dir: dir, SupervisorArgv: []string{"false"}}); err == nil {
		if err := rt.Shutdown(ctx, time.Second); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}
	// Zombies count as gone: the supervisor's parent is init, which reaps in its own time.
	if !waitFor(10*time.Second, func() bool { return !processAlive(pid, 0) }) {
		t.Errorf("supervisor %d still running after shutdown; killing it", pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// waitExited waits for the container to have exited and returns its status.
func waitExited(t testing.TB, rt *Runtime, id string) runtime.ContainerStatus {
	t.Helper()
	var st runtime.ContainerStatus
	ok := waitFor(20*time.Second, func() bool {
		var err error
		st, err = rt.Status(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return st.State == runtime.StateExited
	})
	if !ok {
		t.Fatalf("container %s did not exit: %+v", id, st)
	}
	return st
}

// waitLog waits until the container's log holds want.
func waitLog(t testing.TB, path, want string) {
	t.Helper()
	if !waitFor(10*time.Second, func() bool {
		b, _ := os.ReadFile(path)
		return strings.Contains(string(b), want)
	}) {
		b, _ := os.ReadFile(path)
		t.Fatalf("log %s never contained %q; it has:\n%s", path, want, b)
	}
}

func readLog(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func logPathFor(t testing.TB, name string) string {
	return filepath.Join(t.TempDir(), "pods", name, strconv.Itoa(0)+".log")
}
