package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"

	"k8s.io/client-go/rest"
)

// inProcessHost is the URL host of the in-process transport: never resolved, only
// named in requests (and in logs).
const inProcessHost = "http://kjet.in-process"

// inProcessTransport is the in-process components' connection to the API server: an
// http.RoundTripper that serves each request by calling the server's handler directly.
// The controllers, scheduler and node agent are part of the server, and going through
// a network protocol to reach it (TLS on both ends of every watch event, request and
// response, HTTP/2 framing, header compression and flow control, loopback sockets)
// cost a quarter of the server's CPU and bought nothing. They still go through
// client-go and the whole handler, authentication included, exactly as a remote
// client does: only the wire is gone.
//
// A response is buffered until the handler returns, unless the handler flushes (a
// watch): from then on the body streams through a pipe, and closing it (the client
// stopping the watch) ends the handler's request context.
type inProcessTransport struct {
	handler http.Handler
	// base ends every request's context when it ends (at shutdown, as the server's
	// request contexts do).
	base context.Context

	mu sync.Mutex // guards the fields below
	// closing is set by wait: requests made after it fail with errShuttingDown.
	closing bool
	// active counts the handlers running; idle, when set, is closed as it reaches 0.
	active int
	idle   chan struct{}
}

// errShuttingDown answers requests made once the server has begun to shut down.
var errShuttingDown = errors.New("the API server is shutting down")

var _ http.RoundTripper = (*inProcessTransport)(nil)

func newInProcessTransport(base context.Context, handler http.Handler) *inProcessTransport {
	return &inProcessTransport{handler: handler, base: base}
}

// restConfig is the client configuration of the in-process components.
func (t *inProcessTransport) restConfig(token string) *rest.Config {
	return &rest.Config{Host: inProcessHost, BearerToken: token, Transport: t}
}

// wait refuses new requests and waits until every running handler has returned, or
// ctx ends.
func (t *inProcessTransport) wait(ctx context.Context) error {
	t.mu.Lock()
	t.closing = true
	if t.active == 0 {
		t.mu.Unlock()
		return nil
	}
	if t.idle == nil {
		t.idle = make(chan struct{})
	}
	idle := t.idle
	t.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for in-process requests: %w", ctx.Err())
	}
}

// begin counts a new handler in, unless the transport is closing.
func (t *inProcessTransport) begin() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return false
	}
	t.active++
	return true
}

// done counts a handler out.
func (t *inProcessTransport) done() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.active--
	if t.active == 0 && t.idle != nil {
		close(t.idle)
		t.idle = nil
	}
}

func (t *inProcessTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.begin() {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, errShuttingDown
	}
	ctx, cancel := context.WithCancel(req.Context())
	stopBase := context.AfterFunc(t.base, cancel)
	sreq := req.Clone(ctx)
	sreq.RequestURI = req.URL.RequestURI()
	sreq.RemoteAddr = "in-process"
	sreq.Host = req.URL.Host
	sreq.Proto, sreq.ProtoMajor, sreq.ProtoMinor = "HTTP/1.1", 1, 1
	if sreq.Body == nil {
		sreq.Body = http.NoBody
	}
	rw := &inProcessResponseWriter{header: http.Header{}, ready: make(chan struct{})}
	go func() {
		defer t.done()
		defer cancel()
		defer stopBase()
		defer sreq.Body.Close()
		defer func() {
			if p := recover(); p != nil {
				// net/http aborts the response then (http.ErrAbortHandler does so on
				// purpose): the client sees an error, not a truncated success.
				rw.end(fmt.Errorf("in-process request aborted: %v", p))
				return
			}
			rw.end(nil)
		}()
		t.handler.ServeHTTP(rw, sreq)
	}()
	select {
	case <-rw.ready:
	case <-ctx.Done():
		// The caller gave up before the handler answered; the handler sees the same
		// context end and returns on its own.
		return nil, ctx.Err()
	}
	if rw.failed != nil {
		return nil, rw.failed
	}
	resp := &http.Response{
		Status:        strconv.Itoa(rw.status) + " " + http.StatusText(rw.status),
		StatusCode:    rw.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rw.sent,
		ContentLength: -1,
		Request:       req,
	}
	if rw.stream == nil {
		resp.ContentLength = int64(rw.buf.Len())
		resp.Body = io.NopCloser(bytes.NewReader(rw.buf.Bytes()))
	} else {
		resp.Body = &streamBody{r: io.MultiReader(bytes.NewReader(rw.buf.Bytes()), rw.stream), pipe: rw.stream, cancel: cancel}
	}
	return resp, nil
}

// inProcessResponseWriter collects a handler's response: buffered until the handler
// returns or first flushes, streamed through a pipe after a flush.
type inProcessResponseWriter struct {
	header http.Header
	// ready is closed when the response's head is known: at the first flush or when
	// the handler returns. status, sent, buf (and stream, failed) are set before.
	ready  chan struct{}
	status int
	sent   http.Header
	buf    bytes.Buffer
	failed error

	stream *io.PipeReader
	pw     *io.PipeWriter
}

var _ http.Flusher = (*inProcessResponseWriter)(nil)

func (w *inProcessResponseWriter) Header() http.Header { return w.header }

func (w *inProcessResponseWriter) WriteHeader(code int) {
	if w.status != 0 || code < 200 {
		return
	}
	w.status = code
	w.sent = w.header.Clone()
}

func (w *inProcessResponseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.pw != nil {
		return w.pw.Write(p)
	}
	return w.buf.Write(p)
}

// Flush sends the head and what was written so far, and streams from then on.
func (w *inProcessResponseWriter) Flush() {
	if w.pw != nil {
		return // writes to the pipe reach the reader as they happen
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	w.stream, w.pw = io.Pipe()
	close(w.ready)
}

// end finishes the response when the handler returns (failed: it panicked).
func (w *inProcessResponseWriter) end(failed error) {
	if w.pw != nil {
		if failed == nil {
			failed = io.EOF
		}
		w.pw.CloseWithError(failed)
		return
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	w.failed = failed
	close(w.ready)
}

// streamBody is a streamed response's body: closing it stops the handler (its writes
// fail and its request context ends).
type streamBody struct {
	r      io.Reader
	pipe   *io.PipeReader
	cancel context.CancelFunc
	once   sync.Once
}

func (b *streamBody) Read(p []byte) (int, error) { return b.r.Read(p) }

func (b *streamBody) Close() error {
	b.once.Do(func() {
		b.cancel()
		b.pipe.Close()
	})
	return nil
}
