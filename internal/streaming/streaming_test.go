package streaming

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"
	"k8s.io/streaming/pkg/httpstream"

	"github.com/kjet-dev/kjet/internal/runtime"
)

// shellExec runs the command on the host, as the node agent's runtime would.
func shellExec(ctx context.Context, opts runtime.ExecOptions) (int, error) {
	cmd := exec.CommandContext(ctx, opts.Argv[0], opts.Argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = opts.Stdin, opts.Stdout, opts.Stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 0, err
	}
	return 0, nil
}

// upperAttach echoes stdin to stdout in upper case, like a container reading its stdin.
func upperAttach(ctx context.Context, opts runtime.ExecOptions) error {
	b, err := io.ReadAll(opts.Stdin)
	if err != nil {
		return err
	}
	_, err = opts.Stdout.Write(bytes.ToUpper(b))
	return err
}

type executorKind struct {
	name string
	new  func(cfg *rest.Config, u *url.URL) (remotecommand.Executor, error)
}

var executors = []executorKind{
	{"websocket", func(cfg *rest.Config, u *url.URL) (remotecommand.Executor, error) {
		return remotecommand.NewWebSocketExecutor(cfg, "GET", u.String())
	}},
	{"spdy", func(cfg *rest.Config, u *url.URL) (remotecommand.Executor, error) {
		return remotecommand.NewSPDYExecutor(cfg, "POST", u)
	}},
	{"fallback", func(cfg *rest.Config, u *url.URL) (remotecommand.Executor, error) {
		ws, err := remotecommand.NewWebSocketExecutor(cfg, "GET", u.String())
		if err != nil {
			return nil, err
		}
		sp, err := remotecommand.NewSPDYExecutor(cfg, "POST", u)
		if err != nil {
			return nil, err
		}
		// kubectl's rule: fall back to SPDY only when the WebSocket upgrade fails.
		return remotecommand.NewFallbackExecutor(ws, sp, func(err error) bool {
			return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
		})
	}},
}

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/exec", func(w http.ResponseWriter, r *http.Request) { ServeExec(w, r, shellExec) })
	mux.HandleFunc("/attach", func(w http.ResponseWriter, r *http.Request) { ServeAttach(w, r, upperAttach) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestExec(t *testing.T) {
	srv := newServer(t)
	cases := []struct {
		name       string
		script     string
		stdin      string
		wantStdout string
		wantStderr string
		wantCode   int
	}{
		{name: "stdout", script: "echo hello", wantStdout: "hello\n"},
		{name: "stderr", script: "echo oops >&2", wantStderr: "oops\n"},
		{name: "exit code", script: "echo partial; exit 3", wantStdout: "partial\n", wantCode: 3},
		{name: "stdin", script: "cat; echo done", stdin: "from stdin\n", wantStdout: "from stdin\ndone\n"},
	}
	for _, ek := range executors {
		for _, tc := range cases {
			t.Run(ek.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				q := url.Values{"command": {"sh", "-c", tc.script}, "container": {"c"}, "stdout": {"true"}, "stderr": {"true"}}
				if tc.stdin != "" {
					q.Set("stdin", "true")
				}
				u, _ := url.Parse(srv.URL + "/exec?" + q.Encode())
				ex, err := ek.new(&rest.Config{Host: srv.URL}, u)
				if err != nil {
					t.Fatal(err)
				}
				var stdout, stderr bytes.Buffer
				so := remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr}
				if tc.stdin != "" {
					so.Stdin = strings.NewReader(tc.stdin)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				err = ex.StreamWithContext(ctx, so)
				code := 0
				var ce utilexec.CodeExitError
				switch {
				case errors.As(err, &ce):
					code = ce.Code
				case err != nil:
					t.Fatalf("stream: %v", err)
				}
				if code != tc.wantCode || stdout.String() != tc.wantStdout || stderr.String() != tc.wantStderr {
					t.Fatalf("got code %d stdout %q stderr %q; want %d %q %q", code, stdout.String(), stderr.String(), tc.wantCode, tc.wantStdout, tc.wantStderr)
				}
			})
		}
	}
}

func TestAttach(t *testing.T) {
	srv := newServer(t)
	for _, ek := range executors {
		t.Run(ek.name, func(t *testing.T) {
			t.Parallel()
			q := url.Values{"container": {"c"}, "stdin": {"true"}, "stdout": {"true"}}
			u, _ := url.Parse(srv.URL + "/attach?" + q.Encode())
			ex, err := ek.new(&rest.Config{Host: srv.URL}, u)
			if err != nil {
				t.Fatal(err)
			}
			var stdout bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: strings.NewReader("hi there"), Stdout: &stdout}); err != nil {
				t.Fatal(err)
			}
			if stdout.String() != "HI THERE" {
				t.Fatalf("stdout = %q", stdout.String())
			}
		})
	}
}

func TestBadRequests(t *testing.T) {
	srv := newServer(t)
	cases := []struct {
		name, path string
		wantMsg    string
	}{
		{"no command", "/exec?stdout=true", "at least one command"},
		{"no streams", "/exec?command=ls", "at least 1 of stdin, stdout, stderr"},
		{"bad bool", "/exec?command=ls&stdout=maybe", "invalid value"},
		{"not an upgrade", "/exec?command=ls&stdout=true", "Upgrade request required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), tc.wantMsg) {
				t.Fatalf("got %d %s", resp.StatusCode, body)
			}
		})
	}
}

func TestExitStatus(t *testing.T) {
	st := exitStatus([]string{"false"}, 7)
	if st.Reason != "NonZeroExitCode" || len(st.Details.Causes) != 1 || st.Details.Causes[0].Type != "ExitCode" || st.Details.Causes[0].Message != fmt.Sprint(7) {
		t.Fatalf("status %+v", st)
	}
}

func TestDecodeResizes(t *testing.T) {
	cases := []struct {
		name  string
		input string
		want  []runtime.TerminalSize
	}{
		{"two sizes", `{"Width":80,"Height":24}{"Width":120,"Height":40}`, []runtime.TerminalSize{{Width: 80, Height: 24}, {Width: 120, Height: 40}}},
		{"stops at garbage", `{"Width":80,"Height":24}nope`, []runtime.TerminalSize{{Width: 80, Height: 24}}},
		{"empty", ``, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sizes := make(chan runtime.TerminalSize, 10)
			decodeResizes(context.Background(), strings.NewReader(tc.input), sizes)
			var got []runtime.TerminalSize
			for s := range sizes {
				got = append(got, s)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}
