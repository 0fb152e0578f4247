package process

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// unifiedRoot is where cgroup v2 is mounted on a unified host.
const unifiedRoot = "/sys/fs/cgroup"

// cpuPeriodMicros is the CFS period used for CPU limits (Kubernetes' default, 100 ms).
const cpuPeriodMicros = 100000

// cgroupSetup says which cgroup hierarchy containers' limits go into.
type cgroupSetup struct {
	// version is 2 (unified), 1 (legacy or hybrid with the memory controller on v1) or
	// 0 when limits cannot be enforced; reason then says why.
	version int
	parent  string // e.g. "/kjet", relative to the hierarchy root
	reason  string
}

// cgroupRef names one container's cgroup; it is recorded with the container so exec
// sessions and a restarted supervisor can find it.
type cgroupRef struct {
	Version int    `json:"version"`
	Path    string `json:"path"` // relative to the hierarchy root, e.g. "/kjet/<id>"
	// Root is where the v2 hierarchy is mounted; empty means /sys/fs/cgroup.
	Root string `json:"root,omitempty"`
}

// dir is a v2 cgroup's directory.
func (r *cgroupRef) dir() string {
	root := r.Root
	if root == "" {
		root = unifiedRoot
	}
	return filepath.Join(root, r.Path)
}

// detectCgroups decides which hierarchy to use and checks that kjet may create
// cgroups under parent there.
func detectCgroups(parent string) cgroupSetup {
	parent = "/" + strings.Trim(parent, "/")
	switch cgroups.Mode() {
	case cgroups.Unified:
		ctrl, err := os.ReadFile(filepath.Join(unifiedRoot, "cgroup.controllers"))
		if err != nil {
			return cgroupSetup{reason: fmt.Sprintf("reading cgroup v2 controllers: %v", err)}
		}
		if !bytes.Contains(ctrl, []byte("memory")) {
			return cgroupSetup{reason: "cgroup v2 memory controller is not available"}
		}
		if err := os.MkdirAll(filepath.Join(unifiedRoot, parent), 0o755); err != nil {
			return cgroupSetup{reason: fmt.Sprintf("cgroups are not writable: %v", err)}
		}
		return cgroupSetup{version: 2, parent: parent}
	case cgroups.Legacy, cgroups.Hybrid:
		subs, err := v1Hierarchy()
		if err != nil {
			return cgroupSetup{reason: fmt.Sprintf("finding cgroup v1 controllers: %v", err)}
		}
		hasMemory := false
		for _, s := range subs {
			if s.Name() == cgroup1.Memory {
				hasMemory = true
			}
			if err := os.MkdirAll(subsystemPath(s, parent), 0o755); err != nil {
				return cgroupSetup{reason: fmt.Sprintf("cgroups are not writable: %v", err)}
			}
		}
		if !hasMemory {
			return cgroupSetup{reason: "cgroup v1 memory controller is not mounted"}
		}
		return cgroupSetup{version: 1, parent: parent}
	default:
		return cgroupSetup{reason: "no cgroup filesystem is mounted"}
	}
}

// v1Hierarchy is the part of the v1 hierarchy kjet uses: memory and cpu.
func v1Hierarchy() ([]cgroup1.Subsystem, error) {
	all, err := cgroup1.Default()
	if err != nil {
		return nil, err
	}
	var subs []cgroup1.Subsystem
	for _, s := range all {
		if s.Name() == cgroup1.Memory || s.Name() == cgroup1.Cpu {
			if _, ok := s.(interface{ Path(string) string }); ok {
				subs = append(subs, s)
			}
		}
	}
	return subs, nil
}

func subsystemPath(s cgroup1.Subsystem, path string) string {
	return s.(interface{ Path(string) string }).Path(path)
}

// create makes the cgroup for container id with the given limits.
func (s cgroupSetup) create(id string, memoryBytes, cpuMilli int64) (*cgroupRef, error) {
	if s.version == 0 {
		return nil, errors.New(s.reason)
	}
	ref := &cgroupRef{Version: s.version, Path: s.parent + "/" + id}
	var quota *int64
	if cpuMilli > 0 {
		q := max(cpuMilli*cpuPeriodMicros/1000, 1000)
		quota = &q
	}
	period := uint64(cpuPeriodMicros)
	switch s.version {
	case 2:
		res := &cgroup2.Resources{}
		if memoryBytes > 0 {
			oomGroup := true
			res.Memory = &cgroup2.Memory{Max: &memoryBytes, OOMGroup: &oomGroup}
		}
		if quota != nil {
			res.CPU = &cgroup2.CPU{Max: cgroup2.NewCPUMax(quota, &period)}
		}
		if _, err := cgroup2.NewManager(unifiedRoot, ref.Path, res); err != nil {
			return nil, fmt.Errorf("creating cgroup %s: %w", ref.Path, err)
		}
	default:
		res := &specs.LinuxResources{}
		if memoryBytes > 0 {
			res.Memory = &specs.LinuxMemory{Limit: &memoryBytes}
			// Without swap accounting the limit would let the container swap instead.
			if subs, err := v1Hierarchy(); err == nil {
				for _, sub := range subs {
					if sub.Name() == cgroup1.Memory {
						if _, err := os.Stat(filepath.Join(subsystemPath(sub, s.parent), "memory.memsw.limit_in_bytes")); err == nil {
							res.Memory.Swap = &memoryBytes
						}
					}
				}
			}
		}
		if quota != nil {
			res.CPU = &specs.LinuxCPU{Quota: quota, Period: &period}
		}
		if _, err := cgroup1.New(cgroup1.StaticPath(ref.Path), res, cgroup1.WithHierarchy(v1Hierarchy)); err != nil {
			return nil, fmt.Errorf("creating cgroup %s: %w", ref.Path, err)
		}
	}
	return ref, nil
}

// joinThread moves the calling OS thread into a v1 cgroup, so a child forked from it
// starts inside (v1 has no clone-into-cgroup). The caller must lock the thread and
// call the returned leave as soon as the child is forked: while the thread is in
// the container's cgroup, the OOM killer could pick the whole supervisor.
func (r *cgroupRef) joinThread() (leave func(), err error) {
	subs, err := v1Hierarchy()
	if err != nil {
		return nil, fmt.Errorf("finding cgroup v1 controllers: %w", err)
	}
	tid := []byte(strconv.Itoa(unix.Gettid()))
	own, err := os.ReadFile("/proc/thread-self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("reading own cgroup: %w", err)
	}
	var back []string // tasks files to return to
	leave = func() {
		for _, p := range back {
			_ = os.WriteFile(p, tid, 0)
		}
	}
	for _, s := range subs {
		orig, ok := v1CgroupOf(own, string(s.Name()))
		if !ok {
			leave()
			return nil, fmt.Errorf("joining cgroup %s: own %s cgroup unknown", r.Path, s.Name())
		}
		if err := os.WriteFile(filepath.Join(subsystemPath(s, r.Path), "tasks"), tid, 0); err != nil {
			leave()
			return nil, fmt.Errorf("joining cgroup %s: %w", r.Path, err)
		}
		back = append(back, filepath.Join(subsystemPath(s, orig), "tasks"))
	}
	return leave, nil
}

// v1CgroupOf finds a controller's path in /proc/<pid>/cgroup content
// ("4:memory:/a/b" or "1:cpu,cpuacct:/a").
func v1CgroupOf(procCgroup []byte, controller string) (string, bool) {
	for _, line := range strings.Split(string(procCgroup), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == controller {
				return parts[2], true
			}
		}
	}
	return "", false
}

// openDir opens a v2 cgroup's directory for SysProcAttr.CgroupFD.
func (r *cgroupRef) openDir() (*os.File, error) {
	f, err := os.OpenFile(r.dir(), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening cgroup %s: %w", r.Path, err)
	}
	return f, nil
}

// oomKills returns how many processes the kernel's OOM killer killed in the cgroup.
func (r *cgroupRef) oomKills() uint64 {
	var path string
	if r.Version == 2 {
		path = filepath.Join(r.dir(), "memory.events")
	} else {
		subs, err := v1Hierarchy()
		if err != nil {
			return 0
		}
		for _, s := range subs {
			if s.Name() == cgroup1.Memory {
				path = filepath.Join(subsystemPath(s, r.Path), "memory.oom_control")
			}
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), " "); ok && k == "oom_kill" {
			n, _ := strconv.ParseUint(v, 10, 64)
			return n
		}
	}
	return 0
}

// killAll sends SIGKILL to every process left in the cgroup.
func (r *cgroupRef) killAll() {
	for _, pid := range r.pids() {
		_ = unix.Kill(pid, unix.SIGKILL)
	}
}

func (r *cgroupRef) pids() []int {
	var files []string
	if r.Version == 2 {
		files = []string{filepath.Join(r.dir(), "cgroup.procs")}
	} else if subs, err := v1Hierarchy(); err == nil {
		for _, s := range subs {
			files = append(files, filepath.Join(subsystemPath(s, r.Path), "cgroup.procs"))
		}
	}
	var pids []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, l := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(l); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// remove deletes the cgroup; it fails while processes remain in it.
func (r *cgroupRef) remove() error {
	if r.Version == 2 {
		err := os.Remove(r.dir())
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing cgroup %s: %w", r.Path, err)
		}
		return nil
	}
	subs, err := v1Hierarchy()
	if err != nil {
		return fmt.Errorf("finding cgroup v1 controllers: %w", err)
	}
	for _, s := range subs {
		if err := os.Remove(subsystemPath(s, r.Path)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing cgroup %s: %w", r.Path, err)
		}
	}
	return nil
}
