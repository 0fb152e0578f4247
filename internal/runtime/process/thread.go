package process

import (
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/kjet-dev/kjet/internal/runtime"
)

// threadSetup describes what a child process must inherit from the thread that forks
// it: a cgroup (so limits apply before its first instruction), a fresh mount namespace
// with the container's volumes bound in, or a running container's mount namespace (for
// exec). Go runs no code in the child between fork and exec, so the forking thread is
// prepared instead: a locked OS thread that is thrown away afterwards.
type threadSetup struct {
	cgroup      *cgroupRef
	mounts      []runtime.Mount
	joinMountNS string // /proc/<pid>/ns/mnt of a container
}

func (ts threadSetup) empty() bool {
	return ts.cgroup == nil && len(ts.mounts) == 0 && ts.joinMountNS == ""
}

// run prepares a thread as described, adjusts sys (cgroup v2 joins through
// CgroupFD at clone time) and calls start on that thread; start must fork the child
// (os.StartProcess, exec.Cmd.Start) before returning.
func (ts threadSetup) run(sys *syscall.SysProcAttr, start func() error) error {
	if ts.empty() {
		return start()
	}
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread exits with this goroutine, taking its changed
		// cgroup and mount namespace with it.
		goruntime.LockOSThread()
		errc <- ts.prepareAndStart(sys, start)
	}()
	return <-errc
}

func (ts threadSetup) prepareAndStart(sys *syscall.SysProcAttr, start func() error) error {
	if ts.cgroup != nil {
		switch ts.cgroup.Version {
		case 2:
			dir, err := ts.cgroup.openDir()
			if err != nil {
				return err
			}
			defer dir.Close()
			sys.UseCgroupFD = true
			sys.CgroupFD = int(dir.Fd())
		default:
			leave, err := ts.cgroup.joinThread()
			if err != nil {
				return err
			}
			defer leave()
		}
	}
	if len(ts.mounts) > 0 {
		if err := setUpMounts(ts.mounts); err != nil {
			return err
		}
	}
	if ts.joinMountNS != "" {
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			return fmt.Errorf("unsharing filesystem attributes: %w", err)
		}
		f, err := os.Open(ts.joinMountNS)
		if err != nil {
			return fmt.Errorf("opening container's mount namespace: %w", err)
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNS); err != nil {
			return fmt.Errorf("entering container's mount namespace: %w", err)
		}
	}
	return start()
}

// setUpMounts gives the calling (locked) thread a private mount namespace with each
// volume bind-mounted at its mountPath.
func setUpMounts(mounts []runtime.Mount) error {
	if err := unix.Unshare(unix.CLONE_NEWNS | unix.CLONE_FS); err != nil {
		return fmt.Errorf("creating mount namespace: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making / private: %w", err)
	}
	for _, m := range mounts {
		st, err := os.Stat(m.HostPath)
		if err != nil {
			return fmt.Errorf("volume for %s: %w", m.ContainerPath, err)
		}
		// The target is created on the host's filesystem: there is no separate root.
		if st.IsDir() {
			err = os.MkdirAll(m.ContainerPath, 0o755)
		} else if err = os.MkdirAll(filepath.Dir(m.ContainerPath), 0o755); err == nil {
			var f *os.File
			if f, err = os.OpenFile(m.ContainerPath, os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
				err = f.Close()
			}
		}
		if err != nil {
			return fmt.Errorf("creating mount point %s: %w", m.ContainerPath, err)
		}
		if err := unix.Mount(m.HostPath, m.ContainerPath, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("mounting %s at %s: %w", m.HostPath, m.ContainerPath, err)
		}
		if m.ReadOnly {
			if err := unix.Mount("", m.ContainerPath, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
				return fmt.Errorf("making %s read-only: %w", m.ContainerPath, err)
			}
		}
	}
	return nil
}
