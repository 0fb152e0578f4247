package streaming

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"k8s.io/streaming/pkg/httpstream/wsstream"

	"github.com/kjet-dev/kjet/internal/runtime"
)

// IdleTimeout ends a streaming connection on which nothing was read or written for
// this long (the kubelet's default).
const IdleTimeout = 4 * time.Hour

// WebSocket channel numbers of the channel.k8s.io protocols.
const (
	channelStdin = iota
	channelStdout
	channelStderr
	channelError
	channelResize
)

// serveWebSocket serves a session over WebSocket with the v5 (or v4) channel protocol:
// binary messages whose first byte is the channel.
func serveWebSocket(w http.ResponseWriter, r *http.Request, opts Options, run session) {
	pick := func(on bool, t wsstream.ChannelType) wsstream.ChannelType {
		if on {
			return t
		}
		return wsstream.IgnoreChannel
	}
	channels := []wsstream.ChannelType{
		channelStdin:  pick(opts.Stdin, wsstream.ReadChannel),
		channelStdout: pick(opts.Stdout, wsstream.WriteChannel),
		channelStderr: pick(opts.Stderr, wsstream.WriteChannel),
		channelError:  wsstream.WriteChannel,
		channelResize: pick(opts.TTY, wsstream.ReadChannel),
	}
	conn := wsstream.NewConn(map[string]wsstream.ChannelProtocolConfig{
		ProtocolV5: {Binary: true, Channels: channels},
		ProtocolV4: {Binary: true, Channels: channels},
	})
	conn.SetIdleTimeout(IdleTimeout)
	// On a failed handshake the websocket server has already answered.
	_, streams, err := conn.Open(quietHijacker{w}, r)
	if err != nil {
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer conn.Close()
	defer cancel()

	eo := runtime.ExecOptions{Argv: opts.Command, TTY: opts.TTY}
	if opts.Stdin {
		eo.Stdin = streams[channelStdin]
	}
	if opts.Stdout {
		eo.Stdout = streams[channelStdout]
	}
	if opts.Stderr {
		eo.Stderr = streams[channelStderr]
	}
	if opts.TTY {
		sizes := make(chan runtime.TerminalSize, 4)
		eo.Resize = sizes
		wg.Add(1)
		go func() {
			defer wg.Done()
			decodeResizes(ctx, streams[channelResize], sizes)
		}()
	}
	status := run(ctx, eo)
	if body, err := json.Marshal(status); err == nil {
		_, _ = streams[channelError].Write(body)
	}
}
