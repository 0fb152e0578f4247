package process

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestCgroupV2CloneInto checks the v2 path (clone3 into a cgroup directory, kill,
// remove) on whatever v2 hierarchy the host has, even one without the memory
// controller (a hybrid host's /sys/fs/cgroup/unified).
func TestCgroupV2CloneInto(t *testing.T) {
	var root string
	for _, p := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		var st unix.Statfs_t
		if unix.Statfs(p, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			root = p
			break
		}
	}
	if root == "" {
		t.Skip("no cgroup v2 hierarchy mounted")
	}
	ref := &cgroupRef{Version: 2, Root: root, Path: "/kjet-test-" + strconv.Itoa(os.Getpid())}
	if err := os.Mkdir(ref.dir(), 0o755); err != nil {
		t.Skipf("cgroup v2 hierarchy %s is not writable: %v", root, err)
	}
	t.Cleanup(func() {
		ref.killAll()
		waitFor(5*time.Second, func() bool { return ref.remove() == nil })
	})

	sys := &syscall.SysProcAttr{Setpgid: true}
	var proc *os.Process
	err := threadSetup{cgroup: ref}.run(sys, func() error {
		var err error
		proc, err = os.StartProcess("/bin/sleep", []string{"sleep", "100"}, &os.ProcAttr{Sys: sys})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = proc.Wait() }()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(proc.Pid), "cgroup"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "0::"+ref.Path+"\n") {
		t.Fatalf("child is not in %s:\n%s", ref.Path, b)
	}
	if pids := ref.pids(); len(pids) != 1 || pids[0] != proc.Pid {
		t.Fatalf("cgroup holds %v, want [%d]", pids, proc.Pid)
	}
	ref.killAll()
	st, err := proc.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if ws := st.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want SIGKILL", st)
	}
	if err := ref.remove(); err != nil {
		t.Fatal(err)
	}
}

func TestV1CgroupOf(t *testing.T) {
	content := []byte("9:name=systemd:/\n4:memory:/a/b\n1:cpu,cpuacct:/c\n0::/\n")
	tests := []struct {
		controller, want string
		ok               bool
	}{
		{"memory", "/a/b", true},
		{"cpu", "/c", true},
		{"cpuacct", "/c", true},
		{"pids", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.controller, func(t *testing.T) {
			got, ok := v1CgroupOf(content, tc.controller)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("got %q %v, want %q %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}
