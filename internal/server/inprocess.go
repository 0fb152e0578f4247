package server

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	"k8s.io/client-go/rest"
)

// inProcessHost is the URL host of the in-process connection: never resolved, only
// named in requests (and in logs).
const inProcessHost = "http://kjet.in-process"

// pipeListener is a net.Listener whose connections are in-memory pipes dialled from
// this same process. The in-process components reach the API server over it: they
// are part of the server, so encrypting their traffic to it (TLS on both ends of every
// watch event, request and response) and moving it through loopback sockets bought
// nothing and cost a tenth of the server's CPU. They speak HTTP/2 over it, as over
// TCP, and still present the admin token.
type pipeListener struct {
	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

var _ net.Listener = (*pipeListener)(nil)

// Accept returns the server's end of the next dialled pipe.
func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops Accept and Dial; pipes already handed out stay open until their users
// close them.
func (l *pipeListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

// DialContext returns the client's end of a new pipe once Accept has taken the other.
func (l *pipeListener) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		client.Close()
		server.Close()
		return nil, net.ErrClosed
	case <-ctx.Done():
		client.Close()
		server.Close()
		return nil, ctx.Err()
	}
}

// restConfig is the client configuration of the in-process components: unencrypted
// HTTP/2 over the listener's pipes, with the admin token.
func (l *pipeListener) restConfig(token string) *rest.Config {
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	return &rest.Config{
		Host:        inProcessHost,
		BearerToken: token,
		Transport: &http.Transport{
			DialContext:     l.DialContext,
			Protocols:       &protocols,
			IdleConnTimeout: 90 * time.Second,
		},
	}
}

// server is the HTTP server for the listener's connections: handler, with base's
// request contexts and error log, speaking unencrypted HTTP/2.
func (l *pipeListener) server(handler http.Handler, base *http.Server) *http.Server {
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	return &http.Server{
		Handler:     handler,
		Protocols:   &protocols,
		BaseContext: base.BaseContext,
		ErrorLog:    base.ErrorLog,
	}
}

// pipeAddr is the address of both ends of the in-process pipes.
type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "in-process" }
