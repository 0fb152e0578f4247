package process

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/utils/clock"

	"github.com/kjet-dev/kjet/internal/runtime"
)

// ErrSupervisorRunning is returned by RunSupervisor when another supervisor already
// serves the directory.
var ErrSupervisorRunning = errors.New("process: a supervisor is already running for this directory")

// SupervisorOptions configure RunSupervisor.
type SupervisorOptions struct {
	// Dir holds supervisor.sock, supervisor.pid, supervisor.lock and containers/.
	// Required; the same directory the client's Options.Dir names.
	Dir string
	// IdleTimeout: the supervisor exits after this long with no client connected and no
	// container running. Default 30s.
	IdleTimeout time.Duration
	// StopGrace is the grace period given to containers when ctx ends. Default 10s.
	StopGrace time.Duration
	// CgroupParent is the cgroup, relative to the hierarchy root, under which each
	// container gets its own. Default "kjet".
	CgroupParent string
	// Log receives the supervisor's diagnostics. Default: standard error.
	Log io.Writer
	// Clock drives timeouts. Default: the real clock.
	Clock clock.WithTicker
}

func (o *SupervisorOptions) defaults() error {
	if o.Dir == "" {
		return errors.New("supervisor: Dir is required")
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 30 * time.Second
	}
	if o.StopGrace <= 0 {
		o.StopGrace = 10 * time.Second
	}
	if o.CgroupParent == "" {
		o.CgroupParent = "kjet"
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	return nil
}

// OneSupervisorThread has the calling process, which is about to run the supervisor
// and nothing else, run its Go code on one thread at a time, unless GOMAXPROCS is set
// in its environment. The supervisor waits on sockets, pipes and children and does
// little work for each; with more than one P, every request or exit woke a second
// thread that found nothing to do (futex wake-ups, costly under virtualisation).
// BenchmarkStartTrue: the supervisor's CPU per container -15% at concurrency 1, -30%
// at 8. Blocking system calls still get threads of their own.
func OneSupervisorThread() {
	if os.Getenv("GOMAXPROCS") == "" {
		goruntime.GOMAXPROCS(1)
	}
}

// RunSupervisor runs the per-node supervisor that owns the containers' processes. It
// is what the hidden `kjet supervisor --dir DIR` subcommand calls. It returns when a
// client asks it to shut down (after stopping every container), when it has been
// idle for IdleTimeout, or when ctx ends (then it stops every container with
// StopGrace first).
func RunSupervisor(ctx context.Context, opts SupervisorOptions) error {
	if err := opts.defaults(); err != nil {
		return err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return fmt.Errorf("supervisor directory: %w", err)
	}
	opts.Dir = dir
	// Containers without a workingDir start in "/", as in an image without WORKDIR,
	// not wherever the server happened to be started.
	if err := os.Chdir("/"); err != nil {
		return fmt.Errorf("changing to /: %w", err)
	}
	s := &supervisor{
		opts:       opts,
		logger:     log.New(opts.Log, "kjet-supervisor: ", log.LstdFlags|log.Lmicroseconds),
		containers: map[string]*container{},
		byPID:      map[int]*container{},
		clients:    map[*clientConn]struct{}{},
		shutdown:   make(chan struct{}),
	}
	return s.run(ctx)
}

// supervisor owns the containers of one node.
//
// Lock order: forkMu before mu.
type supervisor struct {
	opts   SupervisorOptions
	logger *log.Logger
	cg     cgroupSetup
	// journal stores the containers' records; set by load, closed by run on exit.
	journal *journal
	// devNull is the standard input of containers without stdin; opened and
	// closed by run.
	devNull *os.File
	// copyBuffers holds *[]byte of copyBufferSize for copying containers' output.
	copyBuffers sync.Pool

	// wg tracks every goroutine the supervisor starts.
	wg sync.WaitGroup

	// forkMu is held for reading from fork until the child's PID is in byPID, and for
	// writing by the reaper while it looks a PID up, so no exit is reaped unclaimed.
	forkMu sync.RWMutex

	mu         sync.Mutex // guards containers, byPID, clients, each container's rec and reported
	containers map[string]*container
	byPID      map[int]*container
	clients    map[*clientConn]struct{}

	shutdownOnce sync.Once
	shutdown     chan struct{} // closed when a client asked for shutdown
}

// container is one container attempt known to the supervisor.
type container struct {
	rec      record
	reported bool // its exit was sent to at least one client

	launched chan struct{} // closed when Start is done with it (started or failed)
	done     chan struct{} // closed when its exit is recorded

	// Set while launching, then used only by finish.
	pty     *os.File   // TTY containers: the pty master
	keep    []*os.File // kept open for the container's life (stdin FIFO)
	readers []*os.File // output pipes, closed when copying ends
	closers []io.Closer
	copied  chan struct{} // closed when all output is copied (nil: none is)
	copying atomic.Int32  // output streams still being copied
}

func (s *supervisor) run(ctx context.Context) error {
	dir := s.opts.Dir
	if err := os.MkdirAll(containersDir(dir), 0o700); err != nil {
		return fmt.Errorf("creating supervisor directory: %w", err)
	}
	lock, err := os.OpenFile(lockPath(dir), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("opening supervisor lock: %w", err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return ErrSupervisorRunning
		}
		return fmt.Errorf("locking supervisor directory: %w", err)
	}
	// Orphaned grandchildren of containers are reparented to us and reaped here.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		s.logger.Printf("cannot become a child subreaper: %v", err)
	}
	if s.devNull, err = os.Open(os.DevNull); err != nil {
		return fmt.Errorf("opening %s: %w", os.DevNull, err)
	}
	defer s.devNull.Close()
	s.cg = detectCgroups(s.opts.CgroupParent)
	if s.cg.version == 0 {
		s.logger.Printf("container limits cannot be enforced: %s", s.cg.reason)
	}

	sigchld := make(chan os.Signal, 1)
	signal.Notify(sigchld, unix.SIGCHLD)
	defer signal.Stop(sigchld)
	reapCtx, stopReaping := context.WithCancel(context.Background())
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.reap(reapCtx, sigchld)
	}()

	serveCtx, stopServing := context.WithCancel(context.Background())
	if err := s.load(serveCtx); err != nil {
		stopServing()
		stopReaping()
		s.wg.Wait()
		return err
	}
	// Runs after the goroutines that record exits are waited for, on every return.
	defer func() {
		if err := s.journal.close(); err != nil {
			s.logger.Printf("%v", err)
		}
	}()

	_ = os.Remove(socketPath(dir))
	var ln *net.UnixListener
	err = withSocketAddr(dir, func(addr string) error {
		var err error
		ln, err = net.ListenUnix("unix", &net.UnixAddr{Name: addr, Net: "unix"})
		return err
	})
	if err != nil {
		stopServing()
		stopReaping()
		s.wg.Wait()
		return fmt.Errorf("listening on supervisor socket: %w", err)
	}
	ln.SetUnlinkOnClose(false)
	if err := os.WriteFile(pidPath(dir), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		s.logger.Printf("writing pid file: %v", err)
	}
	s.logger.Printf("serving %s (pid %d, cgroup v%d)", dir, os.Getpid(), s.cg.version)

	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.accept(serveCtx, ln)
	}()
	idle := make(chan struct{})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.watchIdle(serveCtx, idle)
	}()

	var why string
	select {
	case <-ctx.Done():
		why = "context ended"
	case <-s.shutdown:
		why = "shutdown requested"
	case <-idle:
		why = "idle"
	}
	s.logger.Printf("exiting: %s", why)
	// Stop taking requests first, so no client sees a half-gone supervisor.
	_ = os.Remove(socketPath(dir))
	_ = os.Remove(pidPath(dir))
	_ = ln.Close()
	s.mu.Lock()
	for c := range s.clients {
		_ = c.conn.Close()
	}
	s.mu.Unlock()
	// Containers still running here raced the idle timeout or ctx: stop them, since
	// nothing would be left to capture their output. Adopted ones are watched until
	// they are gone, so serveCtx ends only after this.
	s.stopAll(context.Background(), s.opts.StopGrace)
	stopServing()
	stopReaping()
	s.wg.Wait()
	return nil
}

// watchIdle closes idle once nothing has needed the supervisor for IdleTimeout.
func (s *supervisor) watchIdle(ctx context.Context, idle chan<- struct{}) {
	tick := s.opts.Clock.NewTicker(min(time.Second, s.opts.IdleTimeout/4+time.Millisecond))
	defer tick.Stop()
	var since time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C():
		}
		if s.busy() {
			since = time.Time{}
			continue
		}
		now := s.opts.Clock.Now()
		if since.IsZero() {
			since = now
		}
		if now.Sub(since) >= s.opts.IdleTimeout {
			close(idle)
			return
		}
	}
}

func (s *supervisor) busy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.clients) > 0 {
		return true
	}
	for _, c := range s.containers {
		if c.rec.Status.State == runtime.StateRunning {
			return true
		}
	}
	return false
}

// reap collects every exited child (containers and orphans handed to us as subreaper).
func (s *supervisor) reap(ctx context.Context, sigchld <-chan os.Signal) {
	for {
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil || pid <= 0 {
				break
			}
			s.forkMu.Lock()
			s.mu.Lock()
			c := s.byPID[pid]
			delete(s.byPID, pid)
			s.mu.Unlock()
			s.forkMu.Unlock()
			if c != nil {
				s.wg.Add(1)
				go func() {
					defer s.wg.Done()
					s.finish(c, exitFromWaitStatus(ws))
				}()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-sigchld:
		}
	}
}

// exit is how a container's process ended.
type exit struct {
	code, signal int
	unknown      bool // a previous supervisor ran it; the exit could not be observed
}

func exitFromWaitStatus(ws unix.WaitStatus) exit {
	if ws.Signaled() {
		return exit{code: 128 + int(ws.Signal()), signal: int(ws.Signal())}
	}
	return exit{code: ws.ExitStatus()}
}

// load reads the records a previous supervisor left and opens the journal: exited
// containers are served as they are, running ones are watched until their process
// goes away.
func (s *supervisor) load(ctx context.Context) error {
	recs, err := loadJournal(s.opts.Dir, func(what string, err error) {
		s.logger.Printf("skipping unreadable record (%s): %v", what, err)
	})
	if err != nil {
		return err
	}
	var adopted []*container
	for _, r := range recs {
		c := &container{rec: r, launched: make(chan struct{}), done: make(chan struct{})}
		close(c.launched)
		s.containers[r.Status.ID] = c
		if r.Status.State != runtime.StateRunning {
			close(c.done)
			continue
		}
		adopted = append(adopted, c)
	}
	if s.journal, err = openJournal(s.opts.Dir, s.snapshotRecords); err != nil {
		return err
	}
	for _, c := range adopted {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.watchAdopted(ctx, c)
		}()
	}
	return nil
}

// snapshotRecords returns the records the journal keeps when it is rewritten: all
// but those of containers still being launched (their start is recorded once it
// is done).
func (s *supervisor) snapshotRecords() []record {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs := make([]record, 0, len(s.containers))
	for _, c := range s.containers {
		if c.rec.Status.State == runtime.StateRunning && c.rec.Status.PID <= 0 {
			continue
		}
		recs = append(recs, c.rec)
	}
	return recs
}

// watchAdopted polls a container started by a previous supervisor until it is gone.
func (s *supervisor) watchAdopted(ctx context.Context, c *container) {
	s.mu.Lock()
	pid, ticks := c.rec.Status.PID, c.rec.StartTicks
	s.mu.Unlock()
	tick := s.opts.Clock.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for processAlive(pid, ticks) {
		select {
		case <-ctx.Done():
			return
		case <-tick.C():
		}
	}
	s.finish(c, exit{code: 137, unknown: true})
}

// processAlive reports whether pid still runs the process that started at ticks.
func processAlive(pid int, ticks uint64) bool {
	if pid <= 0 {
		return false
	}
	got, err := startTicks(pid)
	return err == nil && (ticks == 0 || got == ticks)
}

// startTicks reads field 22 (starttime) of /proc/<pid>/stat; zombies count as gone.
func startTicks(pid int) (uint64, error) {
	b, err := readProcFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may contain spaces; fields after it follow ") ".
	i := lastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("parsing /proc/%d/stat", pid)
	}
	fields := splitFields(b[i+1:])
	if len(fields) < 20 {
		return 0, fmt.Errorf("parsing /proc/%d/stat", pid)
	}
	if fields[0] == "Z" || fields[0] == "X" {
		return 0, fmt.Errorf("process %d is a zombie", pid)
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// readProcFile reads a small /proc file with plain system calls: open, read until
// EOF, close (os.ReadFile adds a stat and the poller's bookkeeping, once per
// container started).
func readProcFile(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	b := make([]byte, 0, 1024)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := unix.Read(fd, b[len(b):cap(b)])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return b, nil
		}
		b = b[:len(b)+n]
	}
}

func lastIndexByte(b []byte, c byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == c {
			return i
		}
	}
	return -1
}

func splitFields(b []byte) []string {
	var out []string
	start := -1
	for i, c := range b {
		if c == ' ' || c == '\n' {
			if start >= 0 {
				out = append(out, string(b[start:i]))
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		out = append(out, string(b[start:]))
	}
	return out
}

// accept serves client connections until ln is closed.
func (s *supervisor) accept(ctx context.Context, ln *net.UnixListener) {
	for {
		conn, err := ln.AcceptUnix()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				s.logger.Printf("accepting connection: %v", err)
			}
			return
		}
		cc := &clientConn{conn: conn, enc: json.NewEncoder(conn)}
		s.mu.Lock()
		s.clients[cc] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(ctx, cc)
		}()
	}
}

// clientConn is one connected client.
type clientConn struct {
	conn  *net.UnixConn
	wmu   sync.Mutex // guards enc (one response or event at a time)
	enc   *json.Encoder
	hello bool // guarded by supervisor.mu: it wants exit events
}

func (c *clientConn) send(r response) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.enc.Encode(r)
}

func (s *supervisor) serve(ctx context.Context, cc *clientConn) {
	ctx, cancel := context.WithCancel(ctx)
	var handlers sync.WaitGroup
	defer func() {
		cancel()
		handlers.Wait()
		s.mu.Lock()
		delete(s.clients, cc)
		s.mu.Unlock()
		_ = cc.conn.Close()
	}()
	dec := json.NewDecoder(cc.conn)
	for {
		var req request
		if err := dec.Decode(&req); err != nil {
			return
		}
		handlers.Add(1)
		go func() {
			defer handlers.Done()
			resp := s.handle(ctx, cc, req)
			resp.Seq = req.Seq
			if err := cc.send(resp); err != nil {
				_ = cc.conn.Close()
				return
			}
			switch req.Op {
			case opHello:
				s.replayExits(cc)
			case opShutdown:
				s.shutdownOnce.Do(func() { close(s.shutdown) })
			}
		}()
	}
}

func (s *supervisor) handle(ctx context.Context, cc *clientConn, req request) response {
	switch req.Op {
	case opHello:
		s.mu.Lock()
		cc.hello = true
		s.mu.Unlock()
		return response{PID: os.Getpid()}
	case opStart:
		if req.Config == nil {
			return response{Error: "start: no container config"}
		}
		rec, err := s.start(*req.Config)
		if err != nil {
			return response{Error: err.Error()}
		}
		// The client has the config it sent: it is not sent back.
		rec.Status.Config = runtime.ContainerConfig{}
		return response{Record: &rec}
	case opStop:
		// Not the connection's ctx: a stop goes on to SIGKILL after the grace period
		// even if the server that asked for it dies meanwhile.
		return errResponse(s.stop(context.WithoutCancel(ctx), req.ID, req.Grace))
	case opStatus:
		s.mu.Lock()
		defer s.mu.Unlock()
		c, ok := s.containers[req.ID]
		if !ok {
			return response{NotFound: true, Error: runtime.ErrNotFound.Error()}
		}
		rec := c.rec
		return response{Record: &rec}
	case opList:
		s.mu.Lock()
		defer s.mu.Unlock()
		recs := make([]record, 0, len(s.containers))
		for _, c := range s.containers {
			recs = append(recs, c.rec)
		}
		return response{Records: recs}
	case opRemove:
		return errResponse(s.remove(req.ID))
	case opResize:
		return errResponse(s.resize(req.ID, req.Width, req.Height))
	case opShutdown:
		s.stopAll(context.WithoutCancel(ctx), req.Grace)
		return response{} // serve closes s.shutdown once this is sent
	default:
		return response{Error: fmt.Sprintf("unknown operation %q", req.Op)}
	}
}

func errResponse(err error) response {
	if err == nil {
		return response{}
	}
	return response{Error: err.Error(), NotFound: errors.Is(err, runtime.ErrNotFound)}
}

// replayExits sends the client the exits no client has heard of yet.
func (s *supervisor) replayExits(cc *clientConn) {
	s.mu.Lock()
	var recs []record
	for _, c := range s.containers {
		if c.rec.Status.State == runtime.StateExited && !c.reported {
			recs = append(recs, c.rec)
		}
	}
	s.mu.Unlock()
	for i := range recs {
		id := recs[i].Status.ID
		if cc.send(response{Event: eventExited, ID: id, Record: &recs[i]}) == nil {
			s.markReported(id)
		}
	}
}

func (s *supervisor) markReported(id string) {
	s.mu.Lock()
	if c, ok := s.containers[id]; ok {
		c.reported = true
	}
	s.mu.Unlock()
}

// broadcastExit tells every connected client that a container exited, with its
// final record (so that they need not ask for it).
func (s *supervisor) broadcastExit(rec *record) {
	id := rec.Status.ID
	s.mu.Lock()
	var to []*clientConn
	for cc := range s.clients {
		if cc.hello {
			to = append(to, cc)
		}
	}
	s.mu.Unlock()
	sent := false
	for _, cc := range to {
		if cc.send(response{Event: eventExited, ID: id, Record: rec}) == nil {
			sent = true
		} else {
			_ = cc.conn.Close()
		}
	}
	if sent {
		s.markReported(id)
	}
}
