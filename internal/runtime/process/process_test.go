package process

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kjet-dev/kjet/internal/runtime"
)

type startCase struct {
	name       string
	cfg        runtime.ContainerConfig
	wantCode   int
	wantReason string
	wantMsg    string
	wantLog    []string // regexps over the log file
}

func TestStartAndExit(t *testing.T) {
	rt, _ := newRuntime(t)
	noExec := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(noExec, []byte("#!/bin/sh\necho hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(t.TempDir(), "new", "workdir")
	tests := []startCase{
		{
			name:       "stdout and stderr captured",
			cfg:        runtime.ContainerConfig{Argv: []string{"sh", "-c", "echo out; echo err >&2; printf partial"}},
			wantReason: "Completed",
			wantLog:    []string{`Z stdout F out\n`, `Z stderr F err\n`, `Z stdout P partial\n`},
		},
		{
			name:       "non-zero exit",
			cfg:        runtime.ContainerConfig{Argv: []string{"sh", "-c", "exit 3"}},
			wantCode:   3,
			wantReason: "Error",
		},
		{
			name:       "missing binary",
			cfg:        runtime.ContainerConfig{Argv: []string{"slepp", "1"}},
			wantCode:   128,
			wantReason: "StartError",
			wantMsg:    `exec: "slepp": executable file not found in $PATH`,
		},
		{
			name:       "not executable",
			cfg:        runtime.ContainerConfig{Argv: []string{noExec}},
			wantCode:   128,
			wantReason: "StartError",
			wantMsg:    `exec: "` + noExec + `": permission denied`,
		},
		{
			name:       "no command",
			cfg:        runtime.ContainerConfig{},
			wantCode:   128,
			wantReason: "StartError",
			wantMsg:    "no command specified",
		},
		{
			name: "env, working directory and GPUs",
			cfg: runtime.ContainerConfig{
				Argv:       []string{"sh", "-c", `echo "foo=$FOO gpus=$CUDA_VISIBLE_DEVICES"; pwd`},
				Env:        []string{"FOO=bar", "PATH=/usr/bin:/bin"},
				WorkingDir: work,
				GPUs:       []int{0, 2},
			},
			wantReason: "Completed",
			wantLog:    []string{`stdout F foo=bar gpus=0,2\n`, `stdout F ` + regexp.QuoteMeta(work) + `\n`},
		},
		{
			name:       "no working directory means /",
			cfg:        runtime.ContainerConfig{Argv: []string{"pwd"}},
			wantReason: "Completed",
			wantLog:    []string{`stdout F /\n`},
		},
	}
	nobody := int64(65534)
	runAs := startCase{
		name:       "runAsUser",
		cfg:        runtime.ContainerConfig{Argv: []string{"sh", "-c", "id -u; id -g"}, RunAsUser: &nobody, RunAsGroup: &nobody},
		wantReason: "Completed",
		wantLog:    []string{`stdout F 65534\n.*stdout F 65534\n`},
	}
	if os.Geteuid() != 0 {
		runAs.wantCode, runAs.wantReason, runAs.wantLog = 128, "StartError", nil
		runAs.wantMsg = "runAsUser 65534/runAsGroup 65534 need kjet to run as root"
	}
	tests = append(tests, runAs)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.ID = "c" + string(rune('a'+i))
			cfg.LogPath = logPathFor(t, cfg.ID)
			st, err := rt.Start(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantReason == "StartError" && st.State != runtime.StateExited {
				t.Fatalf("Start returned %+v, want exited at once", st)
			}
			st = waitExited(t, rt, cfg.ID)
			if st.ExitCode != tc.wantCode || st.Reason != tc.wantReason {
				t.Fatalf("exit %d %q (%s), want %d %q", st.ExitCode, st.Reason, st.Message, tc.wantCode, tc.wantReason)
			}
			if tc.wantMsg != "" && st.Message != tc.wantMsg {
				t.Fatalf("message %q, want %q", st.Message, tc.wantMsg)
			}
			if st.FinishedAt.IsZero() {
				t.Fatalf("no finish time: %+v", st)
			}
			if len(tc.wantLog) > 0 {
				log := readLog(t, cfg.LogPath)
				for _, re := range tc.wantLog {
					if !regexp.MustCompile(re).MatchString(log) {
						t.Fatalf("log does not match %q:\n%s", re, log)
					}
				}
			}
		})
	}

	all, err := rt.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(tests) {
		t.Fatalf("List has %d containers, want %d", len(all), len(tests))
	}
	if err := rt.Remove(context.Background(), "ca"); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Status(context.Background(), "ca"); !errorsIsNotFound(err) {
		t.Fatalf("status after remove: %v", err)
	}
}

func TestExitedNotifications(t *testing.T) {
	rt, _ := newRuntime(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exited := rt.Exited(ctx)
	for _, id := range []string{"one", "two"} {
		if _, err := rt.Start(ctx, runtime.ContainerConfig{ID: id, Argv: []string{"true"}}); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]bool{}
	timeout := time.After(10 * time.Second)
	for len(got) < 2 {
		select {
		case id := <-exited:
			if got[id] {
				t.Fatalf("%s delivered twice", id)
			}
			got[id] = true
		case <-timeout:
			t.Fatalf("exits delivered: %v", got)
		}
	}
	// The exit events carried the final records: Status answers from them, and a
	// removed container is forgotten.
	for _, id := range []string{"one", "two"} {
		rec, ok := rt.exitedRecord(id)
		if !ok || rec.Status.State != runtime.StateExited || rec.Status.Reason != "Completed" {
			t.Fatalf("record from %s's exit event: %v %+v", id, ok, rec.Status)
		}
		st, err := rt.Status(ctx, id)
		if err != nil || st.FinishedAt.IsZero() || st.ExitCode != 0 {
			t.Fatalf("status of %s: %v %+v", id, err, st)
		}
	}
	if err := rt.Remove(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Status(ctx, "one"); !errorsIsNotFound(err) {
		t.Fatalf("status after remove: %v", err)
	}
}

func TestStop(t *testing.T) {
	rt, _ := newRuntime(t)
	tests := []struct {
		name     string
		argv     []string
		ready    string // log line to wait for before stopping
		grace    time.Duration
		wantCode int
	}{
		{name: "SIGTERM ends a plain sleep", argv: []string{"sleep", "100"}, grace: 10 * time.Second, wantCode: 143},
		{
			name:     "SIGKILL after grace when SIGTERM is ignored",
			argv:     []string{"sh", "-c", `trap "" TERM; echo ready; sleep 100`},
			ready:    "ready",
			grace:    200 * time.Millisecond,
			wantCode: 137,
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := "stop" + string(rune('a'+i))
			logPath := logPathFor(t, id)
			if _, err := rt.Start(context.Background(), runtime.ContainerConfig{ID: id, Argv: tc.argv, LogPath: logPath}); err != nil {
				t.Fatal(err)
			}
			if tc.ready != "" {
				waitLog(t, logPath, tc.ready)
			}
			if err := rt.Stop(context.Background(), id, tc.grace); err != nil {
				t.Fatal(err)
			}
			st, err := rt.Status(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if st.State != runtime.StateExited || st.ExitCode != tc.wantCode || st.Reason != "Error" {
				t.Fatalf("after stop: %+v, want exit %d", st, tc.wantCode)
			}
		})
	}
}

func TestExecAndAttach(t *testing.T) {
	rt, _ := newRuntime(t)
	ctx := context.Background()
	work := t.TempDir()
	logPath := logPathFor(t, "shell")
	_, err := rt.Start(ctx, runtime.ContainerConfig{
		ID:         "shell",
		Argv:       []string{"sh", "-c", `echo ready; while read line; do echo "got $line"; done`},
		Env:        []string{"FOO=from-container"},
		WorkingDir: work,
		LogPath:    logPath,
		Stdin:      true,
	})
	if err != nil {
		t.Fatal(err)
	}
	waitLog(t, logPath, "ready")

	t.Run("exec", func(t *testing.T) {
		var out, errOut bytes.Buffer
		code, err := rt.Exec(ctx, "shell", runtime.ExecOptions{
			Argv:   []string{"sh", "-c", `echo "$FOO"; pwd; echo oops >&2; exit 7`},
			Stdout: &out, Stderr: &errOut,
		})
		if err != nil {
			t.Fatal(err)
		}
		if code != 7 || out.String() != "from-container\n"+work+"\n" || errOut.String() != "oops\n" {
			t.Fatalf("exec: code %d stdout %q stderr %q", code, out.String(), errOut.String())
		}
	})
	t.Run("exec with stdin", func(t *testing.T) {
		var out bytes.Buffer
		code, err := rt.Exec(ctx, "shell", runtime.ExecOptions{Argv: []string{"cat"}, Stdin: strings.NewReader("piped\n"), Stdout: &out})
		if err != nil || code != 0 || out.String() != "piped\n" {
			t.Fatalf("exec cat: %d %v %q", code, err, out.String())
		}
	})
	t.Run("exec with tty", func(t *testing.T) {
		var out bytes.Buffer
		code, err := rt.Exec(ctx, "shell", runtime.ExecOptions{Argv: []string{"tty"}, TTY: true, Stdout: &out})
		if err != nil || code != 0 || !strings.HasPrefix(out.String(), "/dev/pts/") {
			t.Fatalf("exec tty: %d %v %q", code, err, out.String())
		}
	})
	t.Run("attach", func(t *testing.T) {
		actx, cancel := context.WithCancel(ctx)
		defer cancel()
		pr, pw := io.Pipe()
		defer pw.Close()
		out := &syncBuffer{}
		done := make(chan error, 1)
		go func() { done <- rt.Attach(actx, "shell", runtime.ExecOptions{Stdin: pr, Stdout: out, Stderr: out}) }()
		// The attach streams output from the moment it starts; keep writing until a
		// line comes back through it.
		n := 0
		if !waitFor(10*time.Second, func() bool {
			n++
			_, _ = pw.Write([]byte("hello\n"))
			return strings.Contains(out.String(), "got hello")
		}) {
			t.Fatalf("attach output: %q", out.String())
		}
		cancel()
		if err := <-done; err != nil && err != context.Canceled {
			t.Fatal(err)
		}
	})
	if err := rt.Stop(ctx, "shell", time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestServerKilledContainerRunsOnce(t *testing.T) {
	dir := t.TempDir()
	logPath := logPathFor(t, "survivor")
	marker := filepath.Join(t.TempDir(), "marker")
	trigger := filepath.Join(t.TempDir(), "trigger")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	server := execCommand(self, "kjet-test-server", dir, "survivor", logPath, marker, trigger)
	stdout, err := server.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	server.Stderr = os.Stderr
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = server.Process.Kill()
		_ = server.Wait()
	})
	line := make([]byte, len("started\n"))
	if _, err := io.ReadFull(stdout, line); err != nil || string(line) != "started\n" {
		t.Fatalf("server said %q: %v", line, err)
	}
	pid, err := os.ReadFile(pidPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	supervisorPID := atoi(t, strings.TrimSpace(string(pid)))
	t.Cleanup(func() { shutdownSupervisor(t, dir, supervisorPID) })

	if err := server.Process.Kill(); err != nil { // kill -9 of the "server"
		t.Fatal(err)
	}
	_ = server.Wait()
	// A container that exits while no client is connected: its exit must still be
	// delivered to the next client.
	if err := os.WriteFile(trigger, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if !waitFor(10*time.Second, func() bool {
		recs, _ := loadJournal(dir, func(string, error) {})
		for _, r := range recs {
			if r.Status.ID == "survivor-unwatched" {
				return r.Status.State == runtime.StateExited
			}
		}
		return false
	}) {
		recs, _ := loadJournal(dir, func(string, error) {})
		t.Fatalf("unwatched container did not exit: %+v%s", recs, logTail(dir+"/supervisor.log"))
	}

	rt, err := New(context.Background(), Options{Dir: dir, SupervisorArgv: supervisorArgv(dir)})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if got, _ := rt.SupervisorPID(); got != supervisorPID {
		t.Fatalf("supervisor changed from %d to %d", supervisorPID, got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	exited := rt.Exited(ctx)
	got := map[string]int{}
	for got["survivor"] == 0 || got["survivor-unwatched"] == 0 {
		select {
		case id := <-exited:
			got[id]++
		case <-ctx.Done():
			t.Fatalf("exits delivered: %v", got)
		}
	}
	if len(got) != 2 || got["survivor"] != 1 || got["survivor-unwatched"] != 1 {
		t.Fatalf("exits delivered: %v", got)
	}
	if st, _ := rt.Status(ctx, "survivor-unwatched"); st.ExitCode != 4 {
		t.Fatalf("unwatched container: %+v", st)
	}
	st, err := rt.Status(ctx, "survivor")
	if err != nil {
		t.Fatal(err)
	}
	if st.State != runtime.StateExited || st.ExitCode != 0 || st.Reason != "Completed" {
		t.Fatalf("status %+v", st)
	}
	if log := readLog(t, logPath); !strings.Contains(log, "stdout F done\n") {
		t.Fatalf("log:\n%s", log)
	}
	if m := readLog(t, marker); m != "ran\n" {
		t.Fatalf("marker %q: the container did not run exactly once", m)
	}
}

func TestMemoryLimitOOMKilled(t *testing.T) {
	if cg := detectCgroups("kjet"); cg.version == 0 {
		t.Skipf("cgroups are not writable here, memory limits cannot be tested: %s", cg.reason)
	}
	rt, _ := newRuntime(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	logPath := logPathFor(t, "hog")
	_, err = rt.Start(context.Background(), runtime.ContainerConfig{
		ID: "hog", Argv: []string{self, "kjet-test-alloc"}, LogPath: logPath,
		MemoryLimitBytes: 64 << 20, Env: []string{"GOMAXPROCS=1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	st := waitExited(t, rt, "hog")
	if st.Reason != "OOMKilled" || st.ExitCode != 137 {
		t.Fatalf("status %+v, want OOMKilled 137; log:\n%s", st, readLog(t, logPath))
	}
}

func TestMemoryLimitEnforcedWithoutOOM(t *testing.T) {
	if cg := detectCgroups("kjet"); cg.version == 0 {
		t.Skipf("cgroups are not writable here: %s", cg.reason)
	}
	rt, _ := newRuntime(t)
	logPath := logPathFor(t, "small")
	_, err := rt.Start(context.Background(), runtime.ContainerConfig{
		ID: "small", Argv: []string{"sh", "-c", "echo fine"}, LogPath: logPath,
		MemoryLimitBytes: 64 << 20, CPUMilli: 500,
	})
	if err != nil {
		t.Fatal(err)
	}
	if st := waitExited(t, rt, "small"); st.Reason != "Completed" {
		t.Fatalf("status %+v", st)
	}
}

func TestVolumeMounts(t *testing.T) {
	if os.Geteuid() != 0 {
		rt, _ := newRuntime(t)
		st, err := rt.Start(context.Background(), runtime.ContainerConfig{
			ID: "vol", Argv: []string{"true"}, Mounts: []runtime.Mount{{HostPath: t.TempDir(), ContainerPath: "/data"}},
		})
		if err != nil || st.Reason != "StartError" || !strings.Contains(st.Message, "volume mounts need root") {
			t.Fatalf("without root: %+v %v", st, err)
		}
		return
	}
	rt, _ := newRuntime(t)
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "file"), []byte("from host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "data")
	logPath := logPathFor(t, "vol")
	_, err := rt.Start(context.Background(), runtime.ContainerConfig{
		ID: "vol", LogPath: logPath,
		Argv:   []string{"sh", "-c", "cat " + target + "/file; touch " + target + "/x 2>/dev/null || echo read-only; echo ready; sleep 100"},
		Mounts: []runtime.Mount{{HostPath: host, ContainerPath: target, ReadOnly: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitLog(t, logPath, "ready")
	log := readLog(t, logPath)
	if !strings.Contains(log, "F from host\n") || !strings.Contains(log, "F read-only\n") {
		t.Fatalf("log:\n%s", log)
	}
	if _, err := os.Stat(filepath.Join(target, "file")); err == nil {
		t.Fatalf("the bind mount leaked into the host's mount namespace")
	}
	var out bytes.Buffer
	code, err := rt.Exec(context.Background(), "vol", runtime.ExecOptions{Argv: []string{"cat", target + "/file"}, Stdout: &out})
	if err != nil || code != 0 || out.String() != "from host\n" {
		t.Fatalf("exec in mount namespace: %d %v %q", code, err, out.String())
	}
	if err := rt.Stop(context.Background(), "vol", time.Second); err != nil {
		t.Fatal(err)
	}
}
