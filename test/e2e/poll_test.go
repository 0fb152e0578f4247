package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// eventually polls check until it reports done or the timeout passes; the last detail
// is shown on failure. It is the e2e tests' only way to wait: no fixed sleeps.
func eventually(t *testing.T, timeout time.Duration, what string, check func() (done bool, detail string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var detail string
	for {
		var done bool
		done, detail = check()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last seen:\n%s", timeout, what, detail)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// jsonpath reads one field of an object with kubectl get -o jsonpath.
func (s *Server) jsonpath(t *testing.T, resource, path string) string {
	t.Helper()
	out, _, err := s.Kubectl(t, "get", resource, "-o", "jsonpath="+path)
	if err != nil {
		return ""
	}
	return out
}

// waitJSONPath waits until a jsonpath of resource equals want.
func (s *Server) waitJSONPath(t *testing.T, timeout time.Duration, resource, path, want string) {
	t.Helper()
	eventually(t, timeout, resource+" "+path+" = "+want, func() (bool, string) {
		got := s.jsonpath(t, resource, path)
		return got == want, got
	})
}

// applyYAML applies a manifest given as text.
func (s *Server) applyYAML(t *testing.T, manifest string) string {
	t.Helper()
	out, stderr, err := s.KubectlStdin(t, manifest, "apply", "-f", "-")
	if err != nil {
		t.Fatalf("kubectl apply: %v\n%s%s", err, out, stderr)
	}
	return out
}

// writeFile writes content to a file in a fresh temp dir and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// row returns the line of a kubectl table whose first column is name.
func row(table, name string) string {
	for _, line := range strings.Split(table, "\n") {
		fields := strings.Fields(line)
		if len(fields) > 0 && (fields[0] == name || strings.HasSuffix(fields[0], "/"+name)) {
			return line
		}
	}
	return ""
}

// column returns the value under header in the table row for name ("" if absent).
func column(table, name, header string) string {
	lines := strings.Split(table, "\n")
	if len(lines) == 0 {
		return ""
	}
	head := lines[0]
	start := strings.Index(head, header)
	if start < 0 {
		return ""
	}
	r := row(table, name)
	if len(r) <= start {
		return ""
	}
	rest := r[start:]
	if i := strings.Index(rest, "  "); i >= 0 {
		rest = rest[:i]
	}
	return strings.TrimSpace(rest)
}
