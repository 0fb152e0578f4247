package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/flowcontrol"
)

// server is one `kjet server` process started by the bench.
type server struct {
	cmd     *exec.Cmd
	dataDir string
	url     string
	// ready is how long the process took from exec to printing "kjet ready".
	ready time.Duration
	// exited is closed once cmd.Wait returned.
	exited chan struct{}
}

const readyTimeout = 30 * time.Second

// startServer runs `kjet server` on dataDir (created if needed) on a free loopback port
// and waits for "kjet ready". The server's log goes to dataDir/../server-N.log so the
// pipe never fills.
func (b *bench) startServer(ctx context.Context, dataDir string) (*server, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data dir: %w", err)
	}
	args := append([]string{"--data-dir", dataDir, "server", "--listen", "127.0.0.1:0"}, b.opts.ServerArgs...)
	cmd := exec.Command(b.opts.Kjet, args...)
	cmd.Env = append(os.Environ(), "HOME="+filepath.Dir(dataDir))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("server stderr: %w", err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting kjet server: %w", err)
	}
	s := &server{cmd: cmd, dataDir: dataDir, exited: make(chan struct{})}
	urls := make(chan string, 1)
	// The reader lives until the server closes stderr (it exits); Wait below waits for it.
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "kjet ready: "); ok {
				select {
				case urls <- strings.TrimSpace(u):
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	timer := time.NewTimer(readyTimeout)
	defer timer.Stop()
	select {
	case u := <-urls:
		s.ready = time.Since(start)
		s.url = u
		return s, nil
	case <-s.exited:
		s.reapSupervisor()
		return nil, fmt.Errorf("kjet server exited before it was ready: %v", cmd.ProcessState)
	case <-timer.C:
		s.stop()
		return nil, fmt.Errorf("kjet server not ready after %s", readyTimeout)
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
}

// stop sends SIGTERM, waits up to 20 s, then SIGKILLs; either way it then makes sure
// the node's supervisor is gone too. It returns how long the clean shutdown took.
func (s *server) stop() time.Duration {
	start := time.Now()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	took := time.Since(start)
	s.reapSupervisor()
	return took
}

// supervisorPID is the pid in DATA_DIR/supervisor/supervisor.pid, or 0.
func (s *server) supervisorPID() int {
	data, err := os.ReadFile(filepath.Join(s.dataDir, "supervisor", "supervisor.pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		return 0
	}
	return pid
}

// reapSupervisor ends the supervisor if it outlived the server: SIGTERM, wait up to
// 5 s, SIGKILL. It finds it among all processes by its command line (a kjet supervisor
// of this data dir), not by its pid file: a stale pid file never kills a stranger, and
// a server stopped right after it started its supervisor can leave one that has not
// written its pid file yet.
func (s *server) reapSupervisor() {
	pids := supervisorsOf(s.dataDir)
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
	for _, pid := range pids {
		if !waitGone(pid, 5*time.Second) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			waitGone(pid, 5*time.Second)
		}
	}
}

// supervisorsOf lists the running kjet supervisors of dataDir.
func supervisorsOf(dataDir string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 1 || pid == os.Getpid() {
			continue
		}
		if isSupervisorOf(pid, dataDir) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func isSupervisorOf(pid int, dataDir string) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	args := strings.Split(string(cmdline), "\x00")
	return strings.Contains(string(cmdline), "supervisor") && strings.Contains(strings.Join(args, " "), dataDir)
}

// waitGone polls until pid no longer exists (or is a zombie), up to d.
func waitGone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		if f := statFields(string(st)); len(f) > 0 && f[0] == "Z" {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// waitSupervisor polls for the supervisor's pid file, up to d.
func (s *server) waitSupervisor(d time.Duration) (int, error) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if pid := s.supervisorPID(); pid != 0 {
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
				return pid, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0, errors.New("no supervisor started")
}

// client builds a client-go clientset from the server's kubeconfig, without client-side
// rate limiting (the bench measures the server, not client-go's token bucket) and without
// an HTTP client timeout, which would also cut long watches: callers bound their requests
// with contexts.
func (s *server) client() (*kubernetes.Clientset, *rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(s.dataDir, "kubeconfig"))
	if err != nil {
		return nil, nil, fmt.Errorf("loading kubeconfig: %w", err)
	}
	cfg.RateLimiter = flowcontrol.NewFakeAlwaysRateLimiter()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("building client: %w", err)
	}
	return cs, cfg, nil
}

// statFields are the fields of /proc/PID/stat after the command name: [0] is the state
// (field 3), [11] utime (field 14), [12] stime (field 15).
func statFields(stat string) []string {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(stat[i+1:])
}

// clockTick is USER_HZ, 100 on every Linux the bench runs on.
const clockTick = 100

// cpuTime is utime+stime of pid (not its children).
func cpuTime(pid int) (time.Duration, error) {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading stat: %w", err)
	}
	f := statFields(string(st))
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parsing /proc/%d/stat", pid)
	}
	return time.Duration(u+s) * time.Second / clockTick, nil
}

// statusKB is the value of field (VmRSS, VmHWM, RssAnon) in /proc/PID/status, in kB.
func statusKB(pid int, field string) (int64, error) { return procKB(pid, "status", field) }

// procKB is the kB value of field in /proc/PID/file (status, smaps_rollup).
func procKB(pid int, file, field string) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, file))
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", file, err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(v)
			if len(f) == 0 {
				break
			}
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/%s", field, pid, file)
}

func mb(kb int64) string { return fmt.Sprintf("%.1f MB", float64(kb)/1024) }

// storeRevision is the store's current revision: the resourceVersion of a ConfigMap list
// (kjet's store is revisioned like etcd, one revision per committed write). Differences
// between two readings count the writes in between, from every client and controller.
func storeRevision(ctx context.Context, cs kubernetes.Interface) (int64, error) {
	list, err := cs.CoreV1().ConfigMaps(benchNamespace).List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		return 0, fmt.Errorf("listing configmaps for the store revision: %w", err)
	}
	rv, err := strconv.ParseInt(list.ResourceVersion, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("resourceVersion %q is not a revision: %w", list.ResourceVersion, err)
	}
	return rv, nil
}

// writesPer formats the revisions between r0 and r1 per op.
func writesPer(r0, r1 int64, ops int, what string) string {
	return fmt.Sprintf("%.1f store writes per %s", float64(r1-r0)/float64(ops), what)
}
