package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"

	"github.com/creack/pty"

	"github.com/kjet-dev/kjet/internal/podlogs"
	"github.com/kjet-dev/kjet/internal/runtime"
)

// Exec implements runtime.Runtime. The command runs from the calling process (the
// kjet server) in the container's environment: its env, working directory, user,
// cgroup and mount namespace. Exec returns when the command exits; copying from
// opts.Stdin ends when opts.Stdin returns EOF or an error, which the caller ensures
// by closing its stream.
func (r *Runtime) Exec(ctx context.Context, id string, opts runtime.ExecOptions) (int, error) {
	if len(opts.Argv) == 0 {
		return 0, errors.New("exec: no command")
	}
	rec, err := r.record(ctx, id)
	if err != nil {
		return 0, err
	}
	if rec.Status.State != runtime.StateRunning || rec.Status.PID <= 0 {
		return 0, fmt.Errorf("exec in %s: container is not running", id)
	}
	cfg := rec.Status.Config
	env := containerEnv(&cfg)
	path, err := lookPath(opts.Argv[0], env)
	if err != nil {
		return 0, fmt.Errorf("exec in %s: %w", id, err)
	}
	cred, err := credential(&cfg)
	if err != nil {
		return 0, fmt.Errorf("exec in %s: %w", id, err)
	}
	cmd := exec.Command(path)
	cmd.Args, cmd.Env, cmd.Dir = opts.Argv, env, cfg.WorkingDir
	sys := &syscall.SysProcAttr{Credential: cred}
	cmd.SysProcAttr = sys
	ts := threadSetup{cgroup: rec.Cgroup}
	if rec.MountNamespace {
		ts.joinMountNS = fmt.Sprintf("/proc/%d/ns/mnt", rec.Status.PID)
	}

	var term *os.File // pty master when TTY
	var stdin io.WriteCloser
	if opts.TTY {
		master, slave, err := pty.Open()
		if err != nil {
			return 0, fmt.Errorf("exec in %s: allocating pty: %w", id, err)
		}
		defer master.Close()
		defer slave.Close() // also closed right after the start below
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		sys.Setsid, sys.Setctty, sys.Ctty = true, true, 0
		term = master
	} else {
		sys.Setpgid = true
		cmd.Stdout, cmd.Stderr = orDiscard(opts.Stdout), orDiscard(opts.Stderr)
		if opts.Stdin != nil {
			if stdin, err = cmd.StdinPipe(); err != nil {
				return 0, fmt.Errorf("exec in %s: %w", id, err)
			}
		}
	}
	if err := ts.run(sys, cmd.Start); err != nil {
		return 0, fmt.Errorf("exec in %s: %w", id, err)
	}
	pid := cmd.Process.Pid
	if term != nil {
		// Only the command holds the tty now: the master reads EOF once it is done.
		_ = cmd.Stdin.(*os.File).Close()
	}

	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	copied := make(chan struct{})
	if term != nil {
		go func() {
			defer close(copied)
			_, _ = io.Copy(orDiscard(opts.Stdout), term) // ends with EIO once the command's tty closes
		}()
		if opts.Stdin != nil {
			go func() { _, _ = io.Copy(term, opts.Stdin) }()
		}
	} else {
		close(copied)
		if stdin != nil {
			go func() {
				_, _ = io.Copy(stdin, opts.Stdin)
				_ = stdin.Close()
			}()
		}
	}
	var err2 error
loop:
	for {
		select {
		case err2 = <-waitErr:
			break loop
		case size, ok := <-opts.Resize:
			if !ok {
				opts.Resize = nil
				continue
			}
			if term != nil {
				_ = pty.Setsize(term, &pty.Winsize{Cols: size.Width, Rows: size.Height})
			}
		case <-ctx.Done():
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-waitErr
			return 0, ctx.Err()
		}
	}
	<-copied
	if err2 == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if errors.As(err2, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	return 0, fmt.Errorf("exec in %s: %w", id, err2)
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// Attach implements runtime.Runtime: opts.Stdin feeds the container's stdin (when
// it was started with Stdin), and the container's output from now on is copied to
// opts.Stdout and opts.Stderr (a TTY container's all to Stdout) until it exits or
// ctx ends.
func (r *Runtime) Attach(ctx context.Context, id string, opts runtime.ExecOptions) error {
	rec, err := r.record(ctx, id)
	if err != nil {
		return err
	}
	cfg := rec.Status.Config
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if opts.Stdin != nil && rec.StdinPath != "" && rec.Status.State == runtime.StateRunning {
		f, err := os.OpenFile(rec.StdinPath, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("attach to %s: opening stdin: %w", id, err)
		}
		go func() {
			_, _ = io.Copy(f, opts.Stdin)
			_ = f.Close()
		}()
	}
	if opts.Resize != nil && cfg.TTY {
		done := make(chan struct{})
		defer func() { <-done }()
		defer cancel()
		go func() {
			defer close(done)
			for {
				select {
				case <-ctx.Done():
					return
				case size, ok := <-opts.Resize:
					if !ok {
						return
					}
					_, _ = r.call(ctx, request{Op: opResize, ID: id, Width: size.Width, Height: size.Height})
				}
			}
		}()
	}
	stdout, stderr := orDiscard(opts.Stdout), orDiscard(opts.Stderr)
	running := func() bool {
		if r.knownExited(id) {
			return false
		}
		st, err := r.Status(ctx, id)
		return err == nil && st.State == runtime.StateRunning
	}
	err = podlogs.Scan(ctx, cfg.LogPath, podlogs.ScanOptions{Follow: true, FromEnd: true, Running: running, Clock: r.opts.Clock}, func(rec podlogs.Record) error {
		w := stdout
		if rec.Stream == podlogs.Stderr && !cfg.TTY {
			w = stderr
		}
		if _, err := w.Write(rec.Content); err != nil {
			return err
		}
		if !rec.Partial {
			_, err := w.Write([]byte{'\n'})
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("attach to %s: %w", id, err)
	}
	return ctx.Err()
}
