package apiserver

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// kubectlBinary finds a real kubectl of the given minor version (the Cloud SDK ships
// kubectl.1.<minor> beside its dispatcher); tests skip without one.
func kubectlBinary(t *testing.T, minor string) string {
	t.Helper()
	name := "kubectl.1." + minor
	if path, err := exec.LookPath(name); err == nil {
		return path
	}
	if dispatcher, err := exec.LookPath("kubectl"); err == nil {
		if real, err := filepath.EvalSymlinks(dispatcher); err == nil {
			candidate := filepath.Join(filepath.Dir(real), name)
			if _, err := os.Stat(candidate); err == nil {
				return candidate
			}
		}
	}
	t.Skipf("%s not installed", name)
	return ""
}

// kubectl runs kubectl against the test server with a fresh HOME.
type kubectlRunner struct {
	t      *testing.T
	binary string
	server string
	home   string
}

func (k kubectlRunner) run(stdin string, args ...string) (string, string, error) {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.binary, append([]string{"--server=" + k.server}, args...)...)
	cmd.Env = []string{"HOME=" + k.home, "PATH=" + os.Getenv("PATH")}
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

const kubectlJobYAML = `apiVersion: batch/v1
kind: Job
metadata:
  name: pi
  labels:
    tier: batch
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: busybox
`

func TestKubectl(t *testing.T) {
	// 1.33 uses aggregated discovery; 1.27 asks for v2beta1 only and so reads the
	// legacy per-group documents.
	for _, minor := range []string{"33", "27"} {
		t.Run("1."+minor, func(t *testing.T) { testKubectl(t, minor) })
	}
}

func testKubectl(t *testing.T, minor string) {
	binary := kubectlBinary(t, minor)
	e := newTestEnv(t)
	k := kubectlRunner{t: t, binary: binary, server: e.http.URL, home: t.TempDir()}

	tests := []struct {
		name    string
		stdin   string
		args    []string
		wantOut []string
		wantErr string // substring of stderr when the command must fail
	}{
		{name: "get namespaces", args: []string{"get", "ns"}, wantOut: []string{"NAME", "default", "kube-system"}},
		{name: "create configmap (protobuf)", args: []string{"create", "configmap", "cfg", "--from-literal=a=b"}, wantOut: []string{"configmap/cfg created"}},
		{name: "get configmap yaml", args: []string{"get", "cm", "cfg", "-o", "yaml"}, wantOut: []string{"name: cfg", "a: b", "uid:"}},
		{name: "apply creates", stdin: kubectlJobYAML, args: []string{"apply", "--validate=false", "-f", "-"}, wantOut: []string{"job.batch/pi created"}},
		{name: "apply again patches", stdin: strings.Replace(kubectlJobYAML, "backoffLimit: 2", "backoffLimit: 3", 1), args: []string{"apply", "--validate=false", "-f", "-"}, wantOut: []string{"job.batch/pi configured"}},
		{name: "jsonpath", args: []string{"get", "job", "pi", "-o", "jsonpath={.spec.backoffLimit}"}, wantOut: []string{"3"}},
		{name: "server-side apply", stdin: strings.Replace(kubectlJobYAML, "name: pi", "name: ssa", 1), args: []string{"apply", "--server-side", "--validate=false", "-f", "-"}, wantOut: []string{"job.batch/ssa serverside-applied"}},
		{name: "get all", args: []string{"get", "all"}, wantOut: []string{"job.batch/pi", "job.batch/ssa"}},
		{name: "label", args: []string{"label", "cm", "cfg", "x=y"}, wantOut: []string{"configmap/cfg labeled"}},
		{name: "selector", args: []string{"get", "cm", "-l", "x=y", "-o", "name"}, wantOut: []string{"configmap/cfg"}},
		{name: "chunked list", args: []string{"get", "cm", "-A", "--chunk-size=1", "-o", "name"}, wantOut: []string{"configmap/cfg"}},
		{name: "patch merge", args: []string{"patch", "cm", "cfg", "--type=merge", "-p", `{"data":{"a":"c"}}`}, wantOut: []string{"configmap/cfg patched"}},
		{name: "patch json", args: []string{"patch", "cm", "cfg", "--type=json", "-p", `[{"op":"add","path":"/data/z","value":"1"}]`}, wantOut: []string{"configmap/cfg patched"}},
		{name: "dry-run server", args: []string{"delete", "cm", "cfg", "--dry-run=server"}, wantOut: []string{"configmap \"cfg\" deleted (server dry run)"}},
		{name: "delete waits", args: []string{"delete", "cm", "cfg"}, wantOut: []string{"configmap \"cfg\" deleted"}},
		{name: "get missing", args: []string{"get", "cm", "cfg"}, wantErr: `configmaps "cfg" not found`},
		{name: "wait for delete of missing", args: []string{"wait", "--for=delete", "cm/cfg", "--timeout=5s"}},
		{name: "api-resources", args: []string{"api-resources"}, wantOut: []string{"jobs", "batch/v1", "configmaps", "cm"}},
		{name: "delete job orphan", args: []string{"delete", "job", "pi", "--cascade=orphan", "--wait=false"}, wantOut: []string{`job.batch "pi" deleted`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := k.run(tt.stdin, tt.args...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(errOut, tt.wantErr) {
					t.Fatalf("want failure with %q, got err %v\nstdout: %s\nstderr: %s", tt.wantErr, err, out, errOut)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\nstdout: %s\nstderr: %s", err, out, errOut)
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(out, want) {
					t.Errorf("stdout lacks %q:\n%s\nstderr: %s", want, out, errOut)
				}
			}
		})
	}
}

// TestKubectlGetWatch runs `kubectl get -w` (a Table watch from resourceVersion=0 with
// the list's columns) and checks it prints later changes.
func TestKubectlGetWatch(t *testing.T) {
	binary := kubectlBinary(t, "33")
	e := newTestEnv(t)
	e.mustDo(201, "POST", cmPath, "application/json", cmJSON("first", ""))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "--server="+e.http.URL, "get", "cm", "-w", "--output-watch-events")
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			lines <- scanner.Text()
		}
	}()
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	expectLine := func(parts ...string) {
		t.Helper()
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					t.Fatalf("kubectl ended before printing %v; stderr: %s", parts, stderr.String())
				}
				matched := true
				for _, p := range parts {
					matched = matched && strings.Contains(line, p)
				}
				if matched {
					return
				}
			case <-ctx.Done():
				t.Fatalf("kubectl did not print %v; stderr: %s", parts, stderr.String())
			}
		}
	}
	expectLine("EVENT", "NAME", "AGE")
	expectLine("ADDED", "first")
	e.mustDo(201, "POST", cmPath, "application/json", cmJSON("second", ""))
	expectLine("ADDED", "second")
	e.mustDo(200, "PATCH", cmPath+"/second", "application/merge-patch+json", `{"data":{"a":"b"}}`)
	expectLine("MODIFIED", "second")
	e.mustDo(200, "DELETE", cmPath+"/first", "", "")
	expectLine("DELETED", "first")
}

// TestKubectlWaitCondition runs `kubectl wait --for=condition=complete` while the Job's
// status is written: it lists and watches by metadata.name until the condition shows.
func TestKubectlWaitCondition(t *testing.T) {
	binary := kubectlBinary(t, "33")
	e := newTestEnv(t)
	e.mustDo(201, "POST", jobPath, "application/json", jobBody)
	k := kubectlRunner{t: t, binary: binary, server: e.http.URL, home: t.TempDir()}
	type result struct {
		out, errOut string
		err         error
	}
	done := make(chan result, 1)
	go func() {
		out, errOut, err := k.run("", "wait", "--for=condition=complete", "job/pi", "--timeout=30s")
		done <- result{out, errOut, err}
	}()
	// Write the condition once kubectl is watching (or, if it is slow, before: both work).
	waitFor(t, func() bool {
		for _, req := range e.requestLog() {
			if strings.Contains(req, "watch=true") {
				return true
			}
		}
		return false
	})
	e.mustDo(200, "PATCH", jobPath+"/pi/status", "application/merge-patch+json",
		`{"status":{"succeeded":1,"conditions":[{"type":"Complete","status":"True"}]}}`)
	res := <-done
	if res.err != nil || !strings.Contains(res.out, "job.batch/pi condition met") {
		t.Fatalf("kubectl wait: %v\n%s%s", res.err, res.out, res.errOut)
	}
}
