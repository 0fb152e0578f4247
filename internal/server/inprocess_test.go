package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestInProcessTransport(t *testing.T) {
	handlerEnded := make(chan error, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/plain", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, r.Method+" "+r.URL.RequestURI()+" "+string(body))
	})
	mux.HandleFunc("/empty", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/panic", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "partial")
		panic("boom")
	})
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		for i := 0; ; i++ {
			select {
			case <-r.Context().Done():
				handlerEnded <- r.Context().Err()
				return
			case <-time.After(time.Millisecond):
			}
			if _, err := io.WriteString(w, "tick\n"); err != nil {
				handlerEnded <- err
				return
			}
		}
	})
	base, endBase := context.WithCancel(context.Background())
	defer endBase()
	tr := newInProcessTransport(base, mux)
	client := &http.Client{Transport: tr}

	t.Run("buffered response with status, headers and body", func(t *testing.T) {
		resp, err := client.Post(inProcessHost+"/plain?x=1", "text/plain", strings.NewReader("hello"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusCreated || resp.Header.Get("Content-Type") != "text/plain" || string(body) != "POST /plain?x=1 hello" {
			t.Fatalf("got %d %v %q", resp.StatusCode, resp.Header, body)
		}
		if resp.ContentLength != int64(len(body)) {
			t.Errorf("ContentLength = %d, want %d", resp.ContentLength, len(body))
		}
	})
	t.Run("handler writing nothing answers 200", func(t *testing.T) {
		resp, err := client.Get(inProcessHost + "/empty")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("panicking handler is an error, not a truncated success", func(t *testing.T) {
		resp, err := client.Get(inProcessHost + "/panic")
		if err == nil {
			resp.Body.Close()
			t.Fatalf("got %d, want an error", resp.StatusCode)
		}
	})
	t.Run("flushed response streams; closing the body ends the handler", func(t *testing.T) {
		resp, err := client.Get(inProcessHost + "/stream")
		if err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(resp.Body)
		for _, want := range []string{"first\n", "tick\n", "tick\n"} {
			line, err := r.ReadString('\n')
			if err != nil || line != want {
				t.Fatalf("read %q, %v; want %q", line, err, want)
			}
		}
		resp.Body.Close()
		select {
		case err := <-handlerEnded:
			if err == nil {
				t.Fatal("handler ended without seeing the close")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("handler still running after the body was closed")
		}
	})
	t.Run("ending the base context ends streaming handlers, and wait sees them return", func(t *testing.T) {
		resp, err := client.Get(inProcessHost + "/stream")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		endBase()
		select {
		case err := <-handlerEnded:
			if !errors.Is(err, context.Canceled) && !errors.Is(err, io.ErrClosedPipe) {
				t.Fatalf("handler ended with %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("handler still running after the base context ended")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := tr.wait(ctx); err != nil {
			t.Fatal(err)
		}
		if resp, err := client.Get(inProcessHost + "/empty"); !errors.Is(err, errShuttingDown) {
			if err == nil {
				resp.Body.Close()
			}
			t.Fatalf("request after shutdown: %v, want %v", err, errShuttingDown)
		}
	})
}
