package process

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"k8s.io/utils/clock"

	"github.com/kjet-dev/kjet/internal/runtime"
)

// Options configure a Runtime.
type Options struct {
	// Dir is the supervisor's directory (socket, pid file, container records).
	// Required.
	Dir string
	// SupervisorArgv is the command that runs a supervisor for Dir in the foreground
	// (it must end up calling RunSupervisor with the same Dir). Default:
	// [os.Executable(), "supervisor", "--dir", Dir].
	SupervisorArgv []string
	// StartTimeout bounds how long New waits for a newly started supervisor to
	// accept connections. Default 10s.
	StartTimeout time.Duration
	// Clock drives polling. Default: the real clock.
	Clock clock.WithTicker
}

// Runtime is the client side of the process runtime: it implements runtime.Runtime
// by talking to the node's supervisor, starting one when none runs.
type Runtime struct {
	opts Options

	seq           atomic.Uint64
	shuttingDown  atomic.Bool  // set by Shutdown: a lost connection is then expected
	supervisorPID atomic.Int64 // from the last hello

	// connMu guards conn, enc, pending and connected; wmu serialises writes on conn.
	connMu    sync.Mutex
	connected chan struct{} // closed while conn is usable; replaced when it breaks
	conn      net.Conn
	wmu       sync.Mutex
	enc       *json.Encoder
	pending   map[uint64]chan response

	mu      sync.Mutex // guards subs, backlog, exited
	subs    map[*subscriber]struct{}
	backlog []string // exits received before anyone subscribed
	// exited holds the containers known to have exited, with the final record their
	// exit event carried (nil if it carried none). An exited container's record no
	// longer changes, so Status answers from here without asking the supervisor.
	exited map[string]*record

	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the connection loop and subscribers
}

var _ runtime.Runtime = (*Runtime)(nil)

// New connects to the supervisor serving opts.Dir, starting it when none runs.
func New(ctx context.Context, opts Options) (*Runtime, error) {
	if opts.Dir == "" {
		return nil, errors.New("process runtime: Dir is required")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("process runtime: %w", err)
	}
	opts.Dir = dir
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating supervisor directory: %w", err)
	}
	if opts.SupervisorArgv == nil {
		self, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("finding own executable: %w", err)
		}
		opts.SupervisorArgv = []string{self, "supervisor", "--dir", opts.Dir}
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 10 * time.Second
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	r := &Runtime{
		opts:    opts,
		pending: map[uint64]chan response{},
		subs:    map[*subscriber]struct{}{},
		exited:  map[string]*record{},
	}
	conn, err := r.connect(ctx)
	if err != nil {
		return nil, err
	}
	r.conn, r.enc = conn, json.NewEncoder(conn)
	r.connected = make(chan struct{})
	close(r.connected)
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.readLoop(conn)
	}()
	if err := r.hello(ctx); err != nil {
		r.Close()
		return nil, fmt.Errorf("greeting supervisor: %w", err)
	}
	return r, nil
}

// connect dials the supervisor, starting one if nobody answers.
func (r *Runtime) connect(ctx context.Context) (net.Conn, error) {
	if c, err := r.dial(); err == nil {
		return c, nil
	}
	if err := r.startSupervisor(ctx); err != nil {
		return nil, err
	}
	deadline := r.opts.Clock.Now().Add(r.opts.StartTimeout)
	tick := r.opts.Clock.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := r.dial()
		if err == nil {
			return c, nil
		}
		if r.opts.Clock.Now().After(deadline) {
			return nil, fmt.Errorf("supervisor did not start within %v: %w%s", r.opts.StartTimeout, err, logTail(logPath(r.opts.Dir)))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C():
		}
	}
}

func (r *Runtime) dial() (net.Conn, error) {
	var c net.Conn
	err := withSocketAddr(r.opts.Dir, func(addr string) error {
		var err error
		c, err = net.Dial("unix", addr)
		return err
	})
	return c, err
}

// startSupervisor starts SupervisorArgv in its own session and does not wait for it:
// the supervisor outlives this process (it is reparented to init when this process
// ends), and a group kill of the caller does not reach it. While this process lives, a
// goroutine reaps it should it exit first (idle, or asked to shut down). One exec of
// the binary, not two: a double fork would cost a second process start on the path to
// the first pod.
func (r *Runtime) startSupervisor(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("starting supervisor: %w", err)
	}
	logf, err := os.OpenFile(logPath(r.opts.Dir), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("opening supervisor log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(r.opts.SupervisorArgv[0], r.opts.SupervisorArgv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting supervisor: %w%s", err, logTail(logPath(r.opts.Dir)))
	}
	go func() { _ = cmd.Wait() }()
	return nil
}

// logTail returns the last lines of the supervisor log, for error messages.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return "; supervisor log: " + strings.Join(lines, " | ")
}

// readLoop reads responses and events; when the connection breaks (the supervisor
// died or exited) it fails the calls in flight and reconnects, starting a new
// supervisor, until Close.
func (r *Runtime) readLoop(conn net.Conn) {
	for {
		dec := json.NewDecoder(bufio.NewReader(conn))
		for {
			var resp response
			if err := dec.Decode(&resp); err != nil {
				break
			}
			if resp.Event == eventExited {
				r.deliver(resp.ID, resp.Record)
				continue
			}
			r.connMu.Lock()
			ch := r.pending[resp.Seq]
			delete(r.pending, resp.Seq)
			r.connMu.Unlock()
			if ch != nil {
				ch <- resp
			}
		}
		_ = conn.Close()
		r.connMu.Lock()
		r.conn, r.enc = nil, nil
		r.connected = make(chan struct{})
		for seq, ch := range r.pending {
			ch <- response{Error: "connection to supervisor lost"}
			delete(r.pending, seq)
		}
		r.connMu.Unlock()
		if r.ctx.Err() != nil || r.shuttingDown.Load() {
			return
		}
		// Reconnect with a short back-off; a new hello replays missed exits.
		for {
			t := r.opts.Clock.NewTimer(100 * time.Millisecond)
			select {
			case <-r.ctx.Done():
				t.Stop()
				return
			case <-t.C():
			}
			c, err := r.connect(r.ctx)
			if err == nil {
				conn = c
				break
			}
		}
		r.connMu.Lock()
		r.conn, r.enc = conn, json.NewEncoder(conn)
		close(r.connected)
		r.connMu.Unlock()
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			_ = r.hello(r.ctx)
		}()
	}
}

// hello announces the client (it then receives exit events) and notes the
// supervisor's PID.
func (r *Runtime) hello(ctx context.Context) error {
	resp, err := r.call(ctx, request{Op: opHello})
	if err != nil {
		return err
	}
	r.supervisorPID.Store(int64(resp.PID))
	return nil
}

// call sends a request and waits for its response.
func (r *Runtime) call(ctx context.Context, req request) (response, error) {
	req.Seq = r.seq.Add(1)
	ch := make(chan response, 1)
	// While the supervisor is being restarted, wait for it (or ctx).
	var enc *json.Encoder
	for {
		r.connMu.Lock()
		enc = r.enc
		if enc != nil {
			break
		}
		connected := r.connected
		r.connMu.Unlock()
		select {
		case <-connected:
		case <-ctx.Done():
			return response{}, fmt.Errorf("%s: waiting for the supervisor: %w", req.Op, ctx.Err())
		case <-r.ctx.Done():
			return response{}, errors.New("process runtime: closed")
		}
	}
	r.pending[req.Seq] = ch
	r.connMu.Unlock()
	r.wmu.Lock()
	err := enc.Encode(req)
	r.wmu.Unlock()
	if err != nil {
		r.connMu.Lock()
		delete(r.pending, req.Seq)
		r.connMu.Unlock()
		return response{}, fmt.Errorf("sending %s to supervisor: %w", req.Op, err)
	}
	select {
	case resp := <-ch:
		if resp.NotFound {
			return resp, fmt.Errorf("%s %q: %w", req.Op, req.ID, runtime.ErrNotFound)
		}
		if resp.Error != "" {
			return resp, errors.New(resp.Error)
		}
		return resp, nil
	case <-ctx.Done():
		r.connMu.Lock()
		delete(r.pending, req.Seq)
		r.connMu.Unlock()
		return response{}, ctx.Err()
	}
}

// Start implements runtime.Runtime.
func (r *Runtime) Start(ctx context.Context, cfg runtime.ContainerConfig) (runtime.ContainerStatus, error) {
	r.forgetExited(cfg.ID)
	resp, err := r.call(ctx, request{Op: opStart, ID: cfg.ID, Config: &cfg})
	if err != nil {
		return runtime.ContainerStatus{}, fmt.Errorf("starting container %s: %w", cfg.ID, err)
	}
	if resp.Record == nil {
		return runtime.ContainerStatus{}, fmt.Errorf("starting container %s: the supervisor sent no record", cfg.ID)
	}
	st := resp.Record.Status
	st.Config = cfg // the supervisor does not send it back
	return st, nil
}

// Stop implements runtime.Runtime: it returns once the container has exited.
func (r *Runtime) Stop(ctx context.Context, id string, grace time.Duration) error {
	_, err := r.call(ctx, request{Op: opStop, ID: id, Grace: grace})
	return err
}

// Status implements runtime.Runtime.
func (r *Runtime) Status(ctx context.Context, id string) (runtime.ContainerStatus, error) {
	rec, err := r.record(ctx, id)
	return rec.Status, err
}

// record returns a container's record: the final one its exit event brought, else
// the supervisor's current one.
func (r *Runtime) record(ctx context.Context, id string) (record, error) {
	if rec, ok := r.exitedRecord(id); ok {
		return rec, nil
	}
	resp, err := r.call(ctx, request{Op: opStatus, ID: id})
	if err != nil {
		return record{}, err
	}
	return *resp.Record, nil
}

// List implements runtime.Runtime.
func (r *Runtime) List(ctx context.Context) ([]runtime.ContainerStatus, error) {
	resp, err := r.call(ctx, request{Op: opList})
	if err != nil {
		return nil, err
	}
	out := make([]runtime.ContainerStatus, len(resp.Records))
	for i, rec := range resp.Records {
		out[i] = rec.Status
	}
	return out, nil
}

// Remove implements runtime.Runtime.
func (r *Runtime) Remove(ctx context.Context, id string) error {
	_, err := r.call(ctx, request{Op: opRemove, ID: id})
	if err == nil || errors.Is(err, runtime.ErrNotFound) {
		r.forgetExited(id)
	}
	return err
}

// Shutdown stops every container (SIGTERM, SIGKILL after grace), makes the
// supervisor exit and closes the Runtime: what a clean server shutdown does. It
// returns once the supervisor process has exited (or ctx ends).
func (r *Runtime) Shutdown(ctx context.Context, grace time.Duration) error {
	r.shuttingDown.Store(true)
	pid := int(r.supervisorPID.Load())
	_, err := r.call(ctx, request{Op: opShutdown, Grace: grace})
	r.Close()
	if err != nil {
		return fmt.Errorf("shutting down supervisor: %w", err)
	}
	tick := r.opts.Clock.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	// A zombie counts as gone: the supervisor's parent is init, which reaps it.
	for processAlive(pid, 0) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for supervisor %d to exit: %w", pid, ctx.Err())
		case <-tick.C():
		}
	}
	return nil
}

// SupervisorPID returns the PID of the supervisor, read from its pid file (the
// supervisor serving Dir now, which after a restart may not be the one this
// Runtime greeted last).
func (r *Runtime) SupervisorPID() (int, error) {
	b, err := os.ReadFile(pidPath(r.opts.Dir))
	if err != nil {
		return 0, fmt.Errorf("reading supervisor pid: %w", err)
	}
	var pid int
	if _, err := fmt.Sscanf(string(bytes.TrimSpace(b)), "%d", &pid); err != nil {
		return 0, fmt.Errorf("parsing supervisor pid: %w", err)
	}
	return pid, nil
}

// Close disconnects from the supervisor, leaving containers running. Exited channels
// are closed.
func (r *Runtime) Close() {
	r.cancel()
	r.connMu.Lock()
	if r.conn != nil {
		_ = r.conn.Close()
	}
	r.connMu.Unlock()
	r.wg.Wait()
}
