package e2e

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// supervisorReapTimeout is how long reapSupervisor waits after SIGTERM (the supervisor
// stops its containers first) before it sends SIGKILL.
const supervisorReapTimeout = 10 * time.Second

// supervisorPID returns the PID in dataDir/supervisor/supervisor.pid when that process
// still runs and is the supervisor of dataDir (a stale file's PID may have been reused
// by an unrelated process); 0 otherwise.
func supervisorPID(dataDir string) int {
	dir := filepath.Join(dataDir, "supervisor")
	b, err := os.ReadFile(filepath.Join(dir, "supervisor.pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return 0
	}
	args := strings.Split(string(bytes.TrimRight(cmdline, "\x00")), "\x00")
	isSupervisor, forDir := false, false
	for _, a := range args {
		switch {
		case a == "supervisor":
			isSupervisor = true
		case a == dir || a == "--dir="+dir:
			forDir = true
		}
	}
	if !isSupervisor || !forDir {
		return 0
	}
	return pid
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name: "PID (comm) S ...".
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return true
	}
	return stat[i+2] != 'Z'
}

// reapSupervisor stops the node supervisor of dataDir, which runs in its own session
// and so outlives the server's process group: SIGTERM (it stops its containers), up to
// supervisorReapTimeout for it to go, then SIGKILL. It does nothing when no supervisor
// of dataDir runs.
func reapSupervisor(t *testing.T, dataDir string) {
	t.Helper()
	pid := supervisorPID(dataDir)
	if pid == 0 {
		return
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		if !errors.Is(err, syscall.ESRCH) {
			t.Logf("reaping supervisor %d: SIGTERM: %v", pid, err)
		}
		return
	}
	deadline := time.Now().Add(supervisorReapTimeout)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			t.Logf("supervisor %d still running %v after SIGTERM; sending SIGKILL", pid, supervisorReapTimeout)
			_ = syscall.Kill(pid, syscall.SIGKILL)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
