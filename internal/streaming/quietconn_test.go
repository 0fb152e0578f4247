package streaming

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestQuietConnReadsEOFAfterLocalClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dialed := make(chan net.Conn, 1)
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			close(dialed)
			return
		}
		dialed <- c
	}()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	client, ok := <-dialed
	if !ok {
		t.Fatal("dial failed")
	}
	defer client.Close()

	qc := &quietConn{Conn: server}
	readErr := make(chan error, 1)
	go func() {
		_, err := qc.Read(make([]byte, 1))
		readErr <- err
	}()
	if err := qc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-readErr; !errors.Is(err, io.EOF) {
		t.Fatalf("read after local close = %v, want io.EOF", err)
	}
}

func TestQuietHijackerKeepsBufferedData(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, rw, err := quietHijacker{w}.Hijack()
		if err != nil {
			got <- "hijack: " + err.Error()
			return
		}
		defer conn.Close()
		line, err := rw.ReadString('\n')
		if err != nil {
			got <- "read: " + err.Error()
			return
		}
		got <- line
	}))
	defer srv.Close()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The request and the data after it arrive together, so the server has the data
	// buffered when it hijacks.
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\nafter the request\n"); err != nil {
		t.Fatal(err)
	}
	if line := <-got; line != "after the request\n" {
		t.Fatalf("hijacked connection read %q", line)
	}
}
