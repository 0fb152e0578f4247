package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestExec runs kubectl exec against a running pod: output, exit code and stdin over
// WebSocket (kjet's own kubectl) and over the SPDY fallback (kubectl 1.28, which knows
// no WebSocket exec), when installed.
func TestExec(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.mustKubectl(t, "run", "sleeper", "--image=busybox", "--restart=Never", "--", "sleep", "300")
	s.waitJSONPath(t, 30*time.Second, "pod/sleeper", "{.status.phase}", "Running")

	clients := []execClient{{name: "websocket (kjet kubectl)", run: func(stdin string, args ...string) (string, string, error) {
		return s.KubectlStdin(t, stdin, args...)
	}}}
	if old := filepath.Join(sdkKubectlDir, "kubectl.1.28"); fileExists(old) {
		home := t.TempDir()
		clients = append(clients, execClient{name: "spdy (kubectl 1.28)", run: func(stdin string, args ...string) (string, string, error) {
			return s.runIn(t, home, strings.NewReader(stdin), old, append([]string{"--kubeconfig", s.Kubeconfig}, args...))
		}})
	}
	cases := []struct {
		name       string
		stdin      string
		args       []string
		wantStdout string
		wantCode   int
	}{
		{name: "stdout", args: []string{"exec", "sleeper", "--", "echo", "hello"}, wantStdout: "hello\n"},
		{name: "exit code", args: []string{"exec", "sleeper", "--", "sh", "-c", "echo partial; exit 3"}, wantStdout: "partial\n", wantCode: 3},
		{name: "stdin", stdin: "from stdin\n", args: []string{"exec", "-i", "sleeper", "--", "cat"}, wantStdout: "from stdin\n"},
	}
	for _, c := range clients {
		for _, tc := range cases {
			t.Run(c.name+"/"+tc.name, func(t *testing.T) {
				out, errOut, err := c.run(tc.stdin, tc.args...)
				code := 0
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					code = ee.ExitCode()
				} else if err != nil {
					t.Fatalf("running kubectl: %v", err)
				}
				if code != tc.wantCode || out != tc.wantStdout {
					t.Fatalf("exit %d stdout %q (stderr %q); want exit %d stdout %q", code, out, errOut, tc.wantCode, tc.wantStdout)
				}
			})
		}
	}
}

// execClient is one kubectl flavour: run executes it with stdin and args.
type execClient struct {
	name string
	run  func(stdin string, args ...string) (stdout, stderr string, err error)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
