package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// fakeBackend answers every request with the path, and records whether it was closed.
type fakeBackend struct {
	closed chan struct{}
}

func (f *fakeBackend) open(ctx context.Context, o Options) (*backend, error) {
	return &backend{
		handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "ok "+r.URL.Path)
		}),
		close: func() error { close(f.closed); return nil },
	}, nil
}

type started struct {
	url    string
	done   chan error
	cancel context.CancelFunc
	dir    string
}

func startFake(t *testing.T, fb *fakeBackend, comps ...Component) *started {
	t.Helper()
	dir := t.TempDir()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		err := run(ctx, Options{
			DataDir:    dir,
			Listen:     "127.0.0.1:0",
			NodeName:   "n1",
			Components: comps,
			Stderr:     pw,
			Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		}, fb.open)
		pw.Close()
		done <- err
	}()
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "kjet ready: ") {
				lines <- sc.Text()
			}
		}
		close(lines)
		_, _ = io.Copy(io.Discard, pr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("server did not stop")
		}
	})
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatalf("server exited before ready: %v", <-done)
		}
		return &started{url: strings.TrimPrefix(l, "kjet ready: "), done: done, cancel: cancel, dir: dir}
	case <-time.After(10 * time.Second):
		t.Fatal("no ready line")
	}
	return nil
}

func TestRunServesWithTokenAndKubeconfig(t *testing.T) {
	fb := &fakeBackend{closed: make(chan struct{})}
	s := startFake(t, fb)
	if !strings.HasPrefix(s.url, "https://127.0.0.1:") || strings.HasSuffix(s.url, ":0") {
		t.Fatalf("ready url = %q", s.url)
	}
	kcPath := filepath.Join(s.dir, KubeconfigFile)
	st, err := os.Stat(kcPath)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("kubeconfig mode %v", st.Mode().Perm())
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kcPath)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != s.url {
		t.Fatalf("kubeconfig server %q, want %q", cfg.Host, s.url)
	}

	cases := []struct {
		name     string
		withAuth bool
		want     int
	}{
		{"with token", true, http.StatusOK},
		{"without token", false, http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := *cfg
			if !tc.withAuth {
				c.BearerToken = ""
			}
			tr, err := rest.TransportFor(&c)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := (&http.Client{Transport: tr}).Get(s.url + "/api")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tc.want)
			}
		})
	}

	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		if err != nil {
			t.Fatalf("run returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no shutdown")
	}
	select {
	case <-fb.closed:
	default:
		t.Fatal("backend not closed")
	}
}

// TestRunStartsComponentsWithInProcessConfig checks that components reach the API
// through the in-process transport, with the admin token (a request without it is
// refused there too).
func TestRunStartsComponentsWithInProcessConfig(t *testing.T) {
	fb := &fakeBackend{closed: make(chan struct{})}
	got := make(chan string, 1)
	get := func(cfg *rest.Config) (string, error) {
		tr, err := rest.TransportFor(cfg)
		if err != nil {
			return "", err
		}
		resp, err := (&http.Client{Transport: tr}).Get(cfg.Host + "/apis")
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.Proto + " " + resp.Status + " " + string(b), err
	}
	comp := Component{Name: "probe", Run: func(ctx context.Context, cfg *rest.Config) error {
		if _, ok := cfg.Transport.(*inProcessTransport); !ok || cfg.Host != inProcessHost {
			return fmt.Errorf("component config names %s over %T, want the in-process transport", cfg.Host, cfg.Transport)
		}
		with, err := get(cfg)
		if err != nil {
			return err
		}
		anonymous := rest.CopyConfig(cfg)
		anonymous.BearerToken = ""
		without, err := get(anonymous)
		if err != nil {
			return err
		}
		got <- with + " | " + without[:strings.Index(without, " {")]
		<-ctx.Done()
		return ctx.Err()
	}}
	startFake(t, fb, comp)
	select {
	case g := <-got:
		if want := "HTTP/1.1 200 OK ok /apis | HTTP/1.1 401 Unauthorized"; g != want {
			t.Fatalf("component saw %q, want %q", g, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("component did not run")
	}
}

func TestRunStopsWhenComponentFails(t *testing.T) {
	fb := &fakeBackend{closed: make(chan struct{})}
	boom := errors.New("boom")
	comp := Component{Name: "broken", Run: func(ctx context.Context, cfg *rest.Config) error { return boom }}
	s := startFake(t, fb, comp)
	select {
	case err := <-s.done:
		if !errors.Is(err, boom) || !strings.Contains(err.Error(), "broken") {
			t.Fatalf("run returned %v, want the component's error", err)
		}
		s.done <- err // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("server kept running after a component failed")
	}
}

func TestVersionInfo(t *testing.T) {
	cases := []struct {
		name, kjet, wantGit string
	}{
		{"plain", "0.1.0", "v1.37.2+kjet.0.1.0"},
		{"pseudo version with build metadata", "v0.0.0-20261122104928-2704867abcde+dirty", "v1.37.2+kjet.0.0.0-20261122104928-2704867abcde.dirty"},
		{"empty", "", "v1.37.2+kjet.dev"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := VersionInfo(tc.kjet)
			if v.Major != "1" || v.Minor != "37" || v.GitVersion != tc.wantGit {
				t.Fatalf("got %+v", v)
			}
		})
	}
}

func TestServerURL(t *testing.T) {
	cases := []struct{ name, listen, wantPrefix string }{
		{"ipv4 loopback", "127.0.0.1:0", "https://127.0.0.1:"},
		{"ipv4 any", "0.0.0.0:0", "https://127.0.0.1:"},
		{"empty host", ":0", "https://127.0.0.1:"},
		{"ipv6 any", "[::]:0", "https://[::1]:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := (&netListenConfig{}).listen(tc.listen)
			if err != nil {
				t.Skip(err)
			}
			defer ln.Close()
			host, _, _ := net.SplitHostPort(tc.listen)
			if u := serverURL(ln.Addr(), host); !strings.HasPrefix(u, tc.wantPrefix) {
				t.Fatalf("serverURL = %q", u)
			}
		})
	}
}

type netListenConfig struct{}

func (netListenConfig) listen(addr string) (interface {
	Addr() net.Addr
	Close() error
}, error) {
	return net.Listen("tcp", addr)
}
