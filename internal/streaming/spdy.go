package streaming

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"

	"github.com/kjet-dev/kjet/internal/runtime"
)

// streamCreationTimeout bounds how long a SPDY client may take to open its streams.
const streamCreationTimeout = 30 * time.Second

// isSPDYRequest reports whether r asks to upgrade to SPDY/3.1.
func isSPDYRequest(r *http.Request) bool {
	return httpstream.IsUpgradeRequest(r) && strings.EqualFold(r.Header.Get(httpstream.HeaderUpgrade), spdy.HeaderSpdy31)
}

// spdyStreams are the streams a SPDY client opened, by stream type.
type spdyStreams struct {
	errorStream, stdin, stdout, stderr, resize httpstream.Stream
}

type newStream struct {
	stream    httpstream.Stream
	replySent <-chan struct{}
}

// serveSPDY serves a session over SPDY/3.1 with the v5 or v4 stream protocol: the
// client opens one stream per standard stream (header streamType) plus "error" and,
// with a terminal, "resize".
func serveSPDY(w http.ResponseWriter, r *http.Request, opts Options, run session) {
	// On a failed negotiation Handshake has already answered (403 naming the
	// supported protocols).
	if _, err := httpstream.Handshake(r, w, []string{ProtocolV5, ProtocolV4}); err != nil {
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	arrived := make(chan newStream)
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, func(s httpstream.Stream, replySent <-chan struct{}) error {
		select {
		case arrived <- newStream{s, replySent}:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("stream %q arrived after the session ended", s.Headers().Get("streamType"))
		}
	})
	if conn == nil {
		return // the upgrader has answered
	}
	defer conn.Close()
	conn.SetIdleTimeout(IdleTimeout)

	streams, err := collectStreams(ctx, conn, arrived, opts)
	if err != nil {
		if streams.errorStream != nil {
			writeStatusTo(streams.errorStream, failureStatus(err))
		}
		return
	}

	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	eo := runtime.ExecOptions{Argv: opts.Command, TTY: opts.TTY}
	if streams.stdin != nil {
		eo.Stdin = streams.stdin
	}
	if streams.stdout != nil {
		eo.Stdout = streams.stdout
	}
	if streams.stderr != nil {
		eo.Stderr = streams.stderr
	}
	if streams.resize != nil {
		sizes := make(chan runtime.TerminalSize, 4)
		eo.Resize = sizes
		wg.Add(1)
		go func() {
			defer wg.Done()
			decodeResizes(ctx, streams.resize, sizes)
		}()
	}
	writeStatusTo(streams.errorStream, run(ctx, eo))
	// Closing the connection (deferred) ends the resize reader.
}

// collectStreams waits until the client has opened every stream opts calls for and
// the server's replies to them are sent.
func collectStreams(ctx context.Context, conn httpstream.Connection, arrived <-chan newStream, opts Options) (spdyStreams, error) {
	var s spdyStreams
	want := 1
	for _, on := range []bool{opts.Stdin, opts.Stdout, opts.Stderr, opts.TTY} {
		if on {
			want++
		}
	}
	timeout := time.NewTimer(streamCreationTimeout)
	defer timeout.Stop()
	var replies []<-chan struct{}
	for got := 0; got < want; {
		select {
		case ns := <-arrived:
			switch t := ns.stream.Headers().Get("streamType"); t {
			case streamTypeError:
				s.errorStream = ns.stream
			case streamTypeStdin:
				s.stdin = ns.stream
			case streamTypeStdout:
				s.stdout = ns.stream
			case streamTypeStderr:
				s.stderr = ns.stream
			case streamTypeResize:
				s.resize = ns.stream
			default:
				return s, fmt.Errorf("unexpected stream type %q", t)
			}
			replies = append(replies, ns.replySent)
			got++
		case <-timeout.C:
			return s, fmt.Errorf("timed out waiting for the client to create streams")
		case <-conn.CloseChan():
			return s, fmt.Errorf("connection closed while waiting for streams")
		case <-ctx.Done():
			return s, ctx.Err()
		}
	}
	if s.errorStream == nil {
		return s, fmt.Errorf("client did not open an error stream")
	}
	for _, r := range replies {
		select {
		case <-r:
		case <-timeout.C:
			return s, fmt.Errorf("timed out replying to the client's streams")
		}
	}
	return s, nil
}

func writeStatusTo(w io.Writer, status any) {
	if body, err := json.Marshal(status); err == nil {
		_, _ = w.Write(body)
	}
}
