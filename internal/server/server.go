package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/kjet-dev/kjet/internal/apiserver/auth"
	"github.com/kjet-dev/kjet/internal/pki"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// backend is the API that the server exposes: its HTTP handler, its background work
// and the resources to release at the end.
type backend struct {
	// handler serves the Kubernetes API (authentication is added by the server).
	handler http.Handler
	// run does the API's background work until ctx ends; nil if there is none.
	run func(ctx context.Context) error
	// close releases the backend (closes storage); called once, after serving stops.
	close func() error
}

// openBackendFunc builds the backend for o (o is already defaulted). It runs before the
// server serves (alongside the credentials' loading), so it must be cheap on an existing
// data dir.
type openBackendFunc func(ctx context.Context, o Options) (*backend, error)

// run is Run with the backend construction injected (tests use a fake backend).
func run(ctx context.Context, opts Options, open openBackendFunc) (err error) {
	o, err := opts.withDefaults()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return fmt.Errorf("creating data dir: %w", err)
	}
	host, _, _ := net.SplitHostPort(o.Listen)
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", o.Listen, err)
	}
	url := serverURL(ln.Addr(), host)

	// The backend (mostly the store's syncs) opens while the credentials load and the
	// kubeconfig is written (CPU and a sync of their own): neither needs the other.
	opened := make(chan openResult, 1)
	go func() {
		be, err := open(ctx, o)
		opened <- openResult{be, err}
	}()
	creds, credsErr := pki.Ensure(pki.Options{Dir: filepath.Join(o.DataDir, PKIDir), Hosts: []string{host}})
	if credsErr != nil {
		credsErr = fmt.Errorf("preparing credentials: %w", credsErr)
	} else {
		credsErr = writeKubeconfig(creds, filepath.Join(o.DataDir, KubeconfigFile), url)
	}
	res := <-opened
	if res.err != nil || credsErr != nil {
		ln.Close()
		if res.be != nil {
			_ = res.be.close()
		}
		return errors.Join(res.err, credsErr)
	}
	be := res.be
	defer func() {
		if cerr := be.close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing storage: %w", cerr)
		}
	}()

	// Request contexts derive from requestCtx, ended at shutdown so that watches and
	// log follows return instead of holding Shutdown until its deadline.
	requestCtx, endRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer endRequests()
	srv := &http.Server{
		Handler: auth.RequireToken(creds.Token, be.handler),
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{creds.Serving},
			MinVersion:   tls.VersionTLS12,
		},
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return requestCtx },
		ErrorLog:          log.New(slogWriter{o.Logger}, "", 0),
	}

	// The in-process components call the same handler directly.
	inProcess := newInProcessTransport(requestCtx, srv.Handler)

	g := newGroup(ctx)
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.ServeTLS(ln, "", "") }()
	if be.run != nil {
		g.start("apiserver", be.run, false)
	}
	fmt.Fprintf(o.Stderr, "kjet ready: %s\n", url)

	restCfg := inProcess.restConfig(creds.Token)
	for _, c := range o.Components {
		g.start(c.Name, func(ctx context.Context) error { return c.Run(ctx, rest.CopyConfig(restCfg)) }, true)
	}

	var serveErr error
	select {
	case <-g.ctx.Done():
	case serveErr = <-serveDone:
		serveErr = fmt.Errorf("serving: %w", serveErr)
		g.fail(serveErr)
	}
	o.Logger.Info("shutting down")
	deadline := time.Now().Add(o.ShutdownTimeout)
	componentsErr := g.wait(deadline)

	endRequests()
	// The HTTP/2 connections of clients in this process that use the admin kubeconfig
	// (`kjet run`'s embedded server) are idle now: close them (client-go shares one
	// transport per TLS configuration), or Shutdown waits out HTTP/2's GOAWAY grace
	// (1 s) for them before returning.
	closeIdleConnections(creds.RESTConfig(url))
	shutCtx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		o.Logger.Warn("graceful shutdown did not finish; closing connections", "err", err)
		_ = srv.Close()
	}
	if err := inProcess.wait(shutCtx); err != nil {
		o.Logger.Warn("in-process requests did not finish", "err", err)
	}
	if serveErr == nil {
		if err := <-serveDone; err != nil && !errors.Is(err, http.ErrServerClosed) {
			serveErr = fmt.Errorf("serving: %w", err)
		}
	}
	return errors.Join(serveErr, componentsErr)
}

// openResult is what the backend's opening returned.
type openResult struct {
	be  *backend
	err error
}

// writeKubeconfig writes the admin kubeconfig for url at path unless the file already
// says exactly that (a restart on a fixed port).
//
// It replaces the file atomically (temporary file, then rename) but does not sync it:
// the kubeconfig is derived from the credentials and the listener and rewritten on
// every start, and it only points at a running server, so a copy lost to a power cut
// would only ever have named a server that is gone too. The sync cost ~2 ms on a quiet
// disk and tens of ms on a busy one, on the way to the ready line.
func writeKubeconfig(creds *pki.Credentials, path, url string) error {
	want, err := clientcmd.Write(*creds.Kubeconfig(url))
	if err != nil {
		return fmt.Errorf("encoding kubeconfig: %w", err)
	}
	if have, err := os.ReadFile(path); err == nil && bytes.Equal(have, want) {
		return nil
	}
	if err := replaceFile(path, want); err != nil {
		return fmt.Errorf("writing kubeconfig: %w", err)
	}
	return nil
}

// replaceFile atomically replaces path with a 0600 file holding data, without syncing.
func replaceFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// closeIdleConnections closes the idle connections of the client transport that cfg's
// clients share.
func closeIdleConnections(cfg *rest.Config) {
	if rt, err := rest.TransportFor(cfg); err == nil {
		utilnet.CloseIdleConnectionsFor(rt)
	}
}

// serverURL is the https URL clients use for the listener's address. An unspecified
// address (0.0.0.0, ::, or an empty host) becomes 127.0.0.1, or ::1 when the listen
// host was an IPv6 one.
func serverURL(addr net.Addr, listenHost string) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return "https://" + addr.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
		if h := net.ParseIP(listenHost); h != nil && h.To4() == nil {
			ip = net.IPv6loopback
		}
	}
	return "https://" + net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))
}

// group runs the server's goroutines: the first failure (or early return) of any of
// them cancels the others through ctx.
type group struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu  sync.Mutex // guards err
	err error
}

func newGroup(parent context.Context) *group {
	ctx, cancel := context.WithCancel(parent)
	return &group{ctx: ctx, cancel: cancel}
}

// start runs fn in a goroutine. If untilDone is set, fn returning nil before the group
// ends counts as a failure (a component must run as long as the server does).
func (g *group) start(name string, fn func(ctx context.Context) error, untilDone bool) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		err := fn(g.ctx)
		if g.ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled)) {
			return
		}
		if err == nil {
			if !untilDone {
				return
			}
			err = errComponentReturned
		}
		g.fail(fmt.Errorf("%s: %w", name, err))
	}()
}

func (g *group) fail(err error) {
	g.mu.Lock()
	if g.err == nil {
		g.err = err
	}
	g.mu.Unlock()
	g.cancel()
}

// wait cancels the group and waits for its goroutines until deadline; it returns the
// first failure, or an error naming the timeout.
func (g *group) wait(deadline time.Time) error {
	g.cancel()
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		g.fail(errors.New("components did not stop before the shutdown deadline"))
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// slogWriter sends net/http's error log lines to a slog.Logger.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	msg := string(p)
	if n := len(msg); n > 0 && msg[n-1] == '\n' {
		msg = msg[:n-1]
	}
	w.l.Warn(msg, "source", "http")
	return len(p), nil
}
