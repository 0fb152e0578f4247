package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/kjet-dev/kjet/internal/podlogs"
	"github.com/kjet-dev/kjet/internal/runtime"
)

// drainTimeout bounds how long output is still collected after a container's main
// process exited, when something outside its process group keeps the pipes open.
const drainTimeout = 2 * time.Second

// start runs a container; start failures come back as an exited record.
func (s *supervisor) start(cfg runtime.ContainerConfig) (record, error) {
	if err := validID(cfg.ID); err != nil {
		return record{}, err
	}
	c := &container{launched: make(chan struct{}), done: make(chan struct{})}
	c.rec.Status = runtime.ContainerStatus{ID: cfg.ID, Config: cfg, State: runtime.StateRunning}
	s.mu.Lock()
	if _, ok := s.containers[cfg.ID]; ok {
		s.mu.Unlock()
		return record{}, fmt.Errorf("container %q already exists", cfg.ID)
	}
	s.containers[cfg.ID] = c
	s.mu.Unlock()

	err := s.launch(c, &cfg)
	var se *startError
	if errors.As(err, &se) {
		s.mu.Lock()
		st := &c.rec.Status
		st.State, st.ExitCode, st.Reason, st.Message = runtime.StateExited, 128, "StartError", se.msg
		st.FinishedAt = s.opts.Clock.Now()
		rec := c.rec
		s.mu.Unlock()
		close(c.launched)
		s.recordExit(c, &rec)
		return rec, nil
	}
	if err != nil {
		s.mu.Lock()
		delete(s.containers, cfg.ID)
		s.mu.Unlock()
		close(c.launched)
		close(c.done)
		return record{}, err
	}
	s.mu.Lock()
	rec := c.rec
	s.mu.Unlock()
	// Not synced: a machine crash ends the container anyway, and a lost start
	// record reads as a container never started.
	if _, err := s.journal.put(&rec); err != nil {
		s.logger.Printf("%v", err)
	}
	close(c.launched)
	return rec, nil
}

// launch prepares the container's process and forks it. Problems with the
// container's own configuration are *startError.
func (s *supervisor) launch(c *container, cfg *runtime.ContainerConfig) (err error) {
	if len(cfg.Argv) == 0 {
		return startErrorf("no command specified")
	}
	env := containerEnv(cfg)
	path, err := lookPath(cfg.Argv[0], env)
	if err != nil {
		return startErrorf("%v", err)
	}
	cred, err := credential(cfg)
	if err != nil {
		return err
	}
	if len(cfg.Mounts) > 0 && os.Geteuid() != 0 {
		return startErrorf("volume mounts need root: cannot mount %s at %s", cfg.Mounts[0].HostPath, cfg.Mounts[0].ContainerPath)
	}
	if cfg.WorkingDir != "" {
		if err := os.MkdirAll(cfg.WorkingDir, 0o755); err != nil {
			return startErrorf("creating working directory: %v", err)
		}
	}

	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	var cg *cgroupRef
	if cfg.MemoryLimitBytes > 0 || cfg.CPUMilli > 0 {
		cg, err = s.cg.create(cfg.ID, cfg.MemoryLimitBytes, cfg.CPUMilli)
		switch {
		case err == nil:
			undo = append(undo, func() { _ = cg.remove() })
		case cfg.MemoryLimitBytes > 0:
			return startErrorf("memory limit of %d bytes cannot be enforced: %v", cfg.MemoryLimitBytes, err)
		default:
			s.logger.Printf("container %s: CPU limit not enforced: %v", cfg.ID, err)
			err = nil
		}
	}

	// Output goes to the log file (or nowhere without one).
	outW, errW, err := openLogs(cfg.LogPath)
	if err != nil {
		return startErrorf("opening log file: %v", err)
	}
	undo = append(undo, func() { _ = outW.Close(); _ = errW.Close() })

	var stdinFIFO string
	if cfg.Stdin {
		stdinFIFO = stdinPath(s.opts.Dir, cfg.ID)
		_ = os.Remove(stdinFIFO)
		if err := unix.Mkfifo(stdinFIFO, 0o600); err != nil {
			return fmt.Errorf("creating stdin FIFO: %w", err)
		}
		undo = append(undo, func() { _ = os.Remove(stdinFIFO) })
	}

	sys := &syscall.SysProcAttr{Credential: cred}
	var childFiles []*os.File // closed in the supervisor once the child has them
	closeChild := func() {
		for _, f := range childFiles {
			_ = f.Close()
		}
	}
	var files []*os.File
	if cfg.TTY {
		master, slave, perr := pty.Open()
		if perr != nil {
			return fmt.Errorf("allocating pty: %w", perr)
		}
		undo = append(undo, func() { _ = master.Close() })
		childFiles = append(childFiles, slave)
		files = []*os.File{slave, slave, slave}
		sys.Setsid, sys.Setctty, sys.Ctty = true, true, 0
		c.pty = master
		c.readers = append(c.readers, master)
		c.closers = append(c.closers, outW, errW)
		if stdinFIFO != "" {
			fifo, ferr := os.OpenFile(stdinFIFO, os.O_RDWR, 0)
			if ferr != nil {
				closeChild()
				return fmt.Errorf("opening stdin FIFO: %w", ferr)
			}
			undo = append(undo, func() { _ = fifo.Close() })
			c.keep = append(c.keep, fifo)
		}
	} else {
		stdin := s.devNull // shared by every container without stdin
		if stdinFIFO != "" {
			fifo, ferr := os.OpenFile(stdinFIFO, os.O_RDWR, 0)
			if ferr != nil {
				return fmt.Errorf("opening stdin: %w", ferr)
			}
			// Held open for the container's life: attach sessions come and go
			// without the container ever reading EOF.
			stdin = fifo
			c.keep = append(c.keep, fifo)
			undo = append(undo, func() { _ = fifo.Close() })
		}
		or, ow, perr := outputPipe()
		if perr != nil {
			closeChild()
			return fmt.Errorf("creating stdout pipe: %w", perr)
		}
		er, ew, perr := outputPipe()
		if perr != nil {
			_ = or.Close()
			_ = ow.Close()
			closeChild()
			return fmt.Errorf("creating stderr pipe: %w", perr)
		}
		undo = append(undo, func() { _ = or.Close(); _ = er.Close() })
		childFiles = append(childFiles, ow, ew)
		files = []*os.File{stdin, ow, ew}
		sys.Setpgid = true
		c.readers = append(c.readers, or, er)
		c.closers = append(c.closers, outW, errW)
	}

	ts := threadSetup{cgroup: cg, mounts: cfg.Mounts}
	var proc *os.Process
	s.forkMu.RLock()
	err = ts.run(sys, func() error {
		var serr error
		proc, serr = os.StartProcess(path, cfg.Argv, &os.ProcAttr{Dir: cfg.WorkingDir, Env: env, Files: files, Sys: sys})
		return serr
	})
	now := s.opts.Clock.Now()
	if err == nil {
		s.mu.Lock()
		s.byPID[proc.Pid] = c
		s.mu.Unlock()
	}
	s.forkMu.RUnlock()
	closeChild()
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) && pe.Op == "fork/exec" {
			return startErrorf("%s", startMessage(cfg.Argv[0], err))
		}
		return startErrorf("%v", err)
	}
	pid := proc.Pid
	_ = proc.Release()

	ticks, _ := startTicks(pid)
	s.mu.Lock()
	c.rec.Status.PID = pid
	c.rec.Status.StartedAt = now
	c.rec.StartTicks = ticks
	c.rec.Cgroup = cg
	c.rec.MountNamespace = len(cfg.Mounts) > 0
	c.rec.StdinPath = stdinFIFO
	s.mu.Unlock()

	// Copy output into the log.
	if cfg.TTY {
		s.copyOutput(c, output{c.pty, outW})
		if len(c.keep) > 0 {
			fifo := c.keep[0]
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				_, _ = io.Copy(c.pty, fifo) // ends when finish closes the FIFO
			}()
		}
	} else {
		s.copyOutput(c, output{c.readers[0], outW}, output{c.readers[1], errW})
	}
	return nil
}

// copyBufferSize is the size of the buffers output is copied through: a read of a
// pipe returns at most what it holds, and log records are cut at 16 KiB anyway.
const copyBufferSize = 32 << 10

// outputPipe makes the pipe for one output stream. Unlike os.Pipe's, only the
// supervisor's read end is non-blocking and on Go's poller; the container's write
// end is an ordinary blocking descriptor from the start, as a process expects its
// stdout to be (os.Pipe would register it with the poller and the fork would make
// it blocking again: five system calls more per pipe).
func outputPipe() (r, w *os.File, err error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return nil, nil, fmt.Errorf("pipe: %w", err)
	}
	if _, err := unix.FcntlInt(uintptr(p[0]), unix.F_SETFL, unix.O_NONBLOCK); err != nil {
		_ = unix.Close(p[0])
		_ = unix.Close(p[1])
		return nil, nil, fmt.Errorf("pipe: %w", err)
	}
	return os.NewFile(uintptr(p[0]), "|0"), os.NewFile(uintptr(p[1]), "|1"), nil
}

// output is one stream of a container's output and where it goes.
type output struct {
	from io.Reader
	to   io.Writer
}

// copyOutput copies each output until its reader ends, then closes c.copied.
func (s *supervisor) copyOutput(c *container, outs ...output) {
	c.copied = make(chan struct{})
	c.copying.Store(int32(len(outs)))
	for _, o := range outs {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.copy(o.to, o.from)
			if c.copying.Add(-1) == 0 {
				close(c.copied)
			}
		}()
	}
}

func (s *supervisor) copy(w io.Writer, r io.Reader) {
	buf, _ := s.copyBuffers.Get().(*[]byte)
	if buf == nil {
		b := make([]byte, copyBufferSize)
		buf = &b
	}
	// Hidden behind a plain Reader, the *os.File cannot take over the copy with a
	// buffer of its own allocated each time.
	_, _ = io.CopyBuffer(w, struct{ io.Reader }{r}, *buf)
	s.copyBuffers.Put(buf)
}

// openLogs opens the stdout and stderr writers of a container's log file.
func openLogs(path string) (io.WriteCloser, io.WriteCloser, error) {
	if path == "" {
		return nopWriteCloser{io.Discard}, nopWriteCloser{io.Discard}, nil
	}
	out, errw, err := podlogs.NewWriters(path)
	if err != nil {
		return nil, nil, err
	}
	return out, errw, nil
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// finish records a container's exit once its output is collected.
func (s *supervisor) finish(c *container, ex exit) {
	<-c.launched
	s.mu.Lock()
	pid, cg := c.rec.Status.PID, c.rec.Cgroup
	s.mu.Unlock()
	// The container is over: nothing of it may outlive its main process.
	if pid > 0 && !ex.unknown {
		_ = unix.Kill(-pid, unix.SIGKILL)
	}
	if cg != nil {
		cg.killAll()
	}
	// Containers adopted from a previous supervisor have no output copied here.
	if c.copied != nil {
		select {
		case <-c.copied:
		default:
			t := s.opts.Clock.NewTimer(drainTimeout)
			select {
			case <-c.copied:
			case <-t.C():
				s.logger.Printf("container %s: output still open %v after exit; closing it", c.rec.Status.ID, drainTimeout)
			}
			t.Stop()
		}
	}
	for _, f := range c.readers {
		_ = f.Close()
	}
	if c.copied != nil {
		<-c.copied
	}
	for _, f := range c.keep {
		_ = f.Close()
	}
	for _, cl := range c.closers {
		_ = cl.Close()
	}

	s.mu.Lock()
	st := &c.rec.Status
	st.State = runtime.StateExited
	st.FinishedAt = s.opts.Clock.Now()
	st.ExitCode, st.Signal = ex.code, ex.signal
	switch {
	case ex.unknown:
		st.Reason = "ContainerStatusUnknown"
		st.Message = "The container's supervisor restarted while it ran; its exit could not be observed"
	case cg != nil && ex.code != 0 && cg.oomKills() > 0:
		st.Reason = "OOMKilled"
	case ex.code == 0:
		st.Reason = "Completed"
	default:
		st.Reason = "Error"
	}
	if c.rec.StdinPath != "" {
		_ = os.Remove(c.rec.StdinPath)
	}
	rec := c.rec
	s.mu.Unlock()
	if cg != nil {
		if err := cg.remove(); err != nil {
			s.logger.Printf("container %s: %v", rec.Status.ID, err)
		}
	}
	s.recordExit(c, &rec)
}

// recordExit stores a container's final record and tells the clients. The record is
// in the journal before they hear of the exit, so a restarted supervisor, and any
// server, reads the real exit code back; it is synced to disk right after the
// notification rather than before, which takes the disk off the pod's path. What a
// crash of the machine in between can lose is an exit the server may already have
// written to the API, where a finished pod stays finished; if the server had not,
// the container reads as ContainerStatusUnknown, as it would had the crash come
// before the sync under either order. (The exit code is the one thing nothing else
// could reconstruct: hence the sync at all.)
func (s *supervisor) recordExit(c *container, rec *record) {
	seq, err := s.journal.put(rec)
	if err != nil {
		s.logger.Printf("%v", err)
	}
	close(c.done)
	s.broadcastExit(rec)
	if err == nil {
		if err := s.journal.sync(seq); err != nil {
			s.logger.Printf("%v", err)
		}
	}
}

// stop sends SIGTERM to the container's process group, SIGKILL after grace, and
// waits for the exit to be recorded.
func (s *supervisor) stop(ctx context.Context, id string, grace time.Duration) error {
	s.mu.Lock()
	c, ok := s.containers[id]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("stopping %q: %w", id, runtime.ErrNotFound)
	}
	select {
	case <-c.launched:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	pid, cg, running := c.rec.Status.PID, c.rec.Cgroup, c.rec.Status.State == runtime.StateRunning
	s.mu.Unlock()
	if !running || pid <= 0 {
		return nil
	}
	_ = unix.Kill(-pid, unix.SIGTERM)
	t := s.opts.Clock.NewTimer(grace)
	defer t.Stop()
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
	}
	_ = unix.Kill(-pid, unix.SIGKILL)
	if cg != nil {
		cg.killAll()
	}
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stopAll stops every running container concurrently.
func (s *supervisor) stopAll(ctx context.Context, grace time.Duration) {
	s.mu.Lock()
	var ids []string
	for id, c := range s.containers {
		if c.rec.Status.State == runtime.StateRunning {
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.stop(ctx, id, grace); err != nil {
				s.logger.Printf("container %s: %v", id, err)
			}
		}()
	}
	wg.Wait()
}

// remove forgets an exited container.
func (s *supervisor) remove(id string) error {
	s.mu.Lock()
	c, ok := s.containers[id]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("removing %q: %w", id, runtime.ErrNotFound)
	}
	if c.rec.Status.State != runtime.StateExited {
		s.mu.Unlock()
		return fmt.Errorf("removing %q: container is running", id)
	}
	delete(s.containers, id)
	cg := c.rec.Cgroup
	s.mu.Unlock()
	if cg != nil {
		_ = cg.remove()
	}
	if err := s.journal.remove(id); err != nil {
		return fmt.Errorf("removing %q: %w", id, err)
	}
	return nil
}

// resize sets a TTY container's terminal size.
func (s *supervisor) resize(id string, width, height uint16) error {
	s.mu.Lock()
	c, ok := s.containers[id]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("resizing %q: %w", id, runtime.ErrNotFound)
	}
	<-c.launched
	if c.pty == nil {
		return fmt.Errorf("resizing %q: container has no TTY", id)
	}
	if err := pty.Setsize(c.pty, &pty.Winsize{Cols: width, Rows: height}); err != nil {
		return fmt.Errorf("resizing %q: %w", id, err)
	}
	return nil
}
