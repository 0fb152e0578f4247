package streaming

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
)

// quietHijacker hands the WebSocket server a connection that reports io.EOF, not "use of
// closed network connection", to reads after this side closed it. The WebSocket reader
// in wsstream logs every read error but io.EOF as an error, and a session always ends
// by the server closing the connection (the client waits for that), so without this
// every exec would log a spurious error.
type quietHijacker struct {
	http.ResponseWriter
}

var _ http.Hijacker = quietHijacker{}

func (q quietHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := q.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("streaming: response writer cannot be hijacked")
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	qc := &quietConn{Conn: conn}
	// Keep whatever the client already sent after its request.
	pending, err := rw.Reader.Peek(rw.Reader.Buffered())
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("streaming: reading buffered request data: %w", err)
	}
	reader := io.MultiReader(bytes.NewReader(append([]byte(nil), pending...)), qc)
	return qc, bufio.NewReadWriter(bufio.NewReader(reader), bufio.NewWriter(qc)), nil
}

// quietConn is a net.Conn whose reads return io.EOF once it has been closed locally.
type quietConn struct {
	net.Conn
	closed atomic.Bool
}

func (c *quietConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil && c.closed.Load() {
		err = io.EOF
	}
	return n, err
}

func (c *quietConn) Close() error {
	c.closed.Store(true)
	return c.Conn.Close()
}
