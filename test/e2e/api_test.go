package e2e

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// seedWorkloads are the non-batch manifests of seed 004, verbatim.
const seedWorkloads = `apiVersion: v1
kind: Pod
metadata:
  name: kubia-liveness
spec:
  containers:
  - image: luksa/kubia-unhealthy
    name: kubia
    livenessProbe:
      httpGet:
        path: /
        port: 8080
---
apiVersion: v1
kind: ReplicationController
metadata:
  name: kubia
spec:
  replicas: 3
  selector:
    app: kubia
  template:
    metadata:
      labels:
        app: kubia
    spec:
      containers:
      - name: kubia
        image: luksa/kubia
        ports:
        - containerPort: 8080
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: kubia
spec:
  replicas: 3
  selector:
    matchExpressions:
      - key: app
        operator: In
        values:
         - kubia
  template:
    metadata:
      labels:
        app: kubia
    spec:
      containers:
      - name: kubia
        image: luksa/kubia
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: ssd-monitor
spec:
  selector:
    matchLabels:
      app: ssd-monitor
  template:
    metadata:
      labels:
        app: ssd-monitor
    spec:
      nodeSelector:
        disk: ssd
      containers:
      - name: main
        image: luksa/ssd-monito
---
apiVersion: v1
kind: Service
metadata:
  labels:
    app: work-queue
    component: queue
    chapter: jobs
  name: queue
spec:
  ports:
  - port: 8080
    protocol: TCP
    targetPort: 8080
  selector:
    app: work-queue
    component: queue
`

// TestSeedManifestsApply applies every example (the seeds' Job and CronJob manifests)
// and the seeds' other workloads as they are, with kubectl's default strict validation,
// and checks the tables kubectl prints. The node takes no pods (--max-pods=0), so
// nothing runs: this is about the API.
func TestSeedManifestsApply(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--max-pods=0")
	files, err := filepath.Glob(filepath.Join(repoRoot, "examples", "*.yaml"))
	if err != nil || len(files) < 10 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		out, stderr, err := s.Kubectl(t, "apply", "-f", f)
		if strings.HasSuffix(f, "cronjob-every-fifteen-minutes.yaml") {
			// Verbatim seed with a misspelt field: rejected as Kubernetes rejects it.
			if err == nil || !strings.Contains(stderr, `strict decoding error: unknown field "spec.startingDeadlineSenconds"`) {
				t.Errorf("%s: want the strict decoding error, got err=%v\n%s%s", filepath.Base(f), err, out, stderr)
			}
			continue
		}
		if err != nil {
			t.Errorf("apply %s: %v\n%s%s", filepath.Base(f), err, out, stderr)
		}
	}
	s.applyYAML(t, seedWorkloads)

	out := s.mustKubectl(t, "get", "jobs,cronjobs,pods")
	var headers []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "NAME ") {
			headers = append(headers, strings.Join(strings.Fields(line), " "))
		}
	}
	want := []string{
		"NAME STATUS COMPLETIONS DURATION AGE",
		"NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE",
		"NAME READY STATUS RESTARTS AGE",
	}
	if strings.Join(headers, "|") != strings.Join(want, "|") {
		t.Errorf("headers of kubectl get jobs,cronjobs,pods:\n%s\nwant:\n%s\n%s", strings.Join(headers, "\n"), strings.Join(want, "\n"), out)
	}
	if got := column(out, "sample-multi-workqueue-job", "COMPLETIONS"); got != "0/1 of 3" {
		t.Errorf("work-queue COMPLETIONS = %q, want \"0/1 of 3\"", got)
	}
	if got := column(out, "sample-multi-task-job", "COMPLETIONS"); got != "0/5" {
		t.Errorf("fixed-completion COMPLETIONS = %q, want 0/5", got)
	}
	cj := row(out, "batch-job-every-fifteen-minutes")
	if fields := strings.Fields(cj); len(fields) < 10 || strings.Join(fields[1:6], " ") != "0,15,30,45 * * * *" || fields[6] != "<none>" || fields[7] != "False" || fields[8] != "0" {
		t.Errorf("cronjob row = %q, want schedule, TIMEZONE <none>, SUSPEND False, ACTIVE 0", cj)
	}
	all := s.mustKubectl(t, "get", "rc,rs,ds,svc") + s.mustKubectl(t, "get", "pod", "kubia-liveness", "-o", "name")
	for _, want := range []string{"replicationcontroller/kubia", "replicaset.apps/kubia", "daemonset.apps/ssd-monitor", "service/queue", "pod/kubia-liveness"} {
		if !strings.Contains(all, want) {
			t.Errorf("kubectl get lacks %s:\n%s", want, all)
		}
	}
	// The generated selector and labels, as Kubernetes shows them.
	yaml := s.mustKubectl(t, "get", "job", "batch-job", "-o", "yaml")
	for _, want := range []string{"batch.kubernetes.io/controller-uid:", "batch.kubernetes.io/job-name: batch-job", "backoffLimit: 6", "completions: 1", "parallelism: 1", "app: batch-job"} {
		if !strings.Contains(yaml, want) {
			t.Errorf("job yaml lacks %q:\n%s", want, yaml)
		}
	}
	// The system kubectl reads the same tables.
	if sys, _, err := s.SystemKubectl(t, "get", "jobs"); err == nil && !strings.Contains(sys, "COMPLETIONS") {
		t.Errorf("system kubectl get jobs:\n%s", sys)
	}
}

// TestInvalidManifests: each rejected manifest gets Kubernetes' error text and exit 1.
func TestInvalidManifests(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--max-pods=0")
	job := func(name, spec, podSpec string) string {
		return "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: " + name + "\nspec:\n" + spec +
			"  template:\n    spec:\n" + podSpec
	}
	worker := "      containers:\n      - name: worker\n        image: busybox\n        command: [\"sh\", \"-c\", \"echo hi\"]\n"
	cases := []struct {
		name, manifest, want string
	}{
		{"restartPolicy Always", job("bad-restart", "", "      restartPolicy: Always\n"+worker),
			`The Job "bad-restart" is invalid: spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`},
		{"negative parallelism", job("bad-parallelism", "  parallelism: -1\n", "      restartPolicy: Never\n"+worker),
			`The Job "bad-parallelism" is invalid: spec.parallelism: Invalid value: -1: must be greater than or equal to 0`},
		{"missing containers", job("no-containers", "", "      restartPolicy: Never\n"),
			`spec.template.spec.containers: Required value`},
		{"bad cron schedule", `apiVersion: batch/v1
kind: CronJob
metadata:
  name: bad-schedule
spec:
  schedule: "not a cron"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: worker
            image: busybox
            command: ["sh", "-c", "echo hi"]
`, `The CronJob "bad-schedule" is invalid: spec.schedule: Invalid value: "not a cron": expected exactly 5 fields, found 3: [not a cron]`},
		{"unknown field", job("typo", "  backofLimit: 3\n", "      restartPolicy: Never\n"+worker),
			`strict decoding error: unknown field "spec.backofLimit"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, err := s.KubectlStdin(t, tc.manifest, "apply", "-f", "-")
			if err == nil {
				t.Fatalf("apply succeeded:\n%s", out)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr:\n%s\nwant it to contain:\n%s", stderr, tc.want)
			}
			if strings.Contains(stderr, "InternalError") || strings.Contains(stderr, "500") {
				t.Errorf("a server error for bad input:\n%s", stderr)
			}
		})
	}
}

// TestReapplyChangedTemplateIsImmutable: re-applying a seed Job with another command
// fails with the immutable-field error.
func TestReapplyChangedTemplateIsImmutable(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--max-pods=0")
	base := seedJob("basic", "", `["sh", "-c", "echo hi"]`, "Never")
	s.applyYAML(t, base)
	changed := strings.Replace(base, "echo hi", "echo changed", 1)
	_, stderr, err := s.KubectlStdin(t, changed, "apply", "-f", "-")
	if err == nil {
		t.Fatal("re-apply with a changed template succeeded")
	}
	for _, want := range []string{`The Job "basic" is invalid: spec.template: Invalid value:`, "field is immutable"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

// streamingKubectl runs a long-lived kjet kubectl (a watch) and collects its output lines.
type streamingKubectl struct {
	cmd   *exec.Cmd
	mu    sync.Mutex // guards lines
	lines []string
	done  chan struct{}
}

func (s *Server) startStreaming(t *testing.T, args ...string) *streamingKubectl {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, kjetBinary, append([]string{"kubectl"}, args...)...)
	cmd.Env = append(cleanEnv(), "HOME="+s.Home, "KJET_DATA_DIR="+s.DataDir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	k := &streamingKubectl{cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(k.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			k.mu.Lock()
			k.lines = append(k.lines, sc.Text())
			k.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		<-k.done
	})
	return k
}

func (k *streamingKubectl) output() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return strings.Join(k.lines, "\n")
}

// TestWatchOutputWatchEvents: kubectl get jobs --watch --output-watch-events streams
// ADDED, MODIFIED and DELETED rows.
func TestWatchOutputWatchEvents(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--max-pods=0")
	w := s.startStreaming(t, "get", "jobs", "--watch", "--output-watch-events")
	// Whether kubectl connects before or after the create, the Job shows as ADDED: a
	// watch starts with the current list.
	s.applyYAML(t, seedJob("watched", "  suspend: true\n", `["true"]`, "Never"))
	eventually(t, 30*time.Second, "ADDED", func() (bool, string) {
		out := w.output()
		return strings.Contains(out, "ADDED") && strings.Contains(out, "watched"), out
	})
	s.mustKubectl(t, "label", "job", "watched", "seen=yes")
	eventually(t, 30*time.Second, "MODIFIED", func() (bool, string) {
		out := w.output()
		return strings.Contains(out, "MODIFIED"), out
	})
	s.mustKubectl(t, "delete", "job", "watched")
	eventually(t, 30*time.Second, "DELETED", func() (bool, string) {
		out := w.output()
		return strings.Contains(out, "DELETED"), out
	})
	if out := w.output(); !strings.HasPrefix(out, "EVENT") {
		t.Errorf("first line should be the header with an EVENT column:\n%s", out)
	}
}

// TestKill9RestartResumesWatch: after kill -9 and a restart on the same data dir, a watch
// from the resourceVersion a client last saw continues with the next change.
func TestKill9RestartResumesWatch(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServerIn(t, dir, "--max-pods=0")
	s.applyYAML(t, seedJob("before", "  suspend: true\n", `["true"]`, "Never"))
	// The Job controller records the suspension in the status; read the version after it.
	s.mustKubectl(t, "wait", "--for=condition=Suspended", "job/before", "--timeout=60s")
	rv := s.jsonpath(t, "job/before", "{.metadata.resourceVersion}")
	uid := s.jsonpath(t, "job/before", "{.metadata.uid}")
	listRV := strings.TrimSpace(s.mustKubectl(t, "get", "--raw", "/apis/batch/v1/namespaces/default/jobs?limit=1"))
	s.Kill9(t)

	s2 := startServerIn(t, dir, "--max-pods=0")
	if got := s2.jsonpath(t, "job/before", "{.metadata.uid}"); got != uid {
		t.Fatalf("uid after restart = %q, want %q", got, uid)
	}
	if got := s2.jsonpath(t, "job/before", "{.metadata.resourceVersion}"); got != rv {
		t.Fatalf("resourceVersion after restart = %q, want %q", got, rv)
	}
	current := extractListRV(listRV)
	if current == "" {
		t.Fatalf("no resourceVersion in list: %s", listRV)
	}
	w := s2.startStreaming(t, "get", "--raw", "/apis/batch/v1/namespaces/default/jobs?watch=true&resourceVersion="+current)
	s2.applyYAML(t, seedJob("after", "  suspend: true\n", `["true"]`, "Never"))
	eventually(t, 30*time.Second, "the watch from the old resourceVersion to see the new Job", func() (bool, string) {
		out := w.output()
		return strings.Contains(out, `"type":"ADDED"`) && strings.Contains(out, `"name":"after"`), out
	})
	if strings.Contains(w.output(), `"name":"before"`) {
		t.Errorf("the watch replayed an object older than its resourceVersion:\n%s", w.output())
	}
}

// extractListRV pulls metadata.resourceVersion out of a list's JSON.
func extractListRV(list string) string {
	const key = `"resourceVersion":"`
	i := strings.Index(list, key)
	if i < 0 {
		return ""
	}
	rest := list[i+len(key):]
	if j := strings.IndexByte(rest, '"'); j >= 0 {
		return rest[:j]
	}
	return ""
}

// TestDataDirLayout: the contract's files are where DESIGN.md says.
func TestDataDirLayout(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.applyYAML(t, seedJob("layout", "", `["true"]`, "Never"))
	if _, stderr, err := s.Kubectl(t, "wait", "--for=condition=complete", "--timeout=60s", "job/layout"); err != nil {
		t.Fatalf("wait: %v\n%s", err, stderr)
	}
	for _, name := range []string{"kubeconfig", "pki", "state.db", "pods"} {
		if _, err := os.Stat(filepath.Join(s.DataDir, name)); err != nil {
			t.Errorf("data dir lacks %s: %v", name, err)
		}
	}
	pods, _ := filepath.Glob(filepath.Join(s.DataDir, "pods", "default_layout-*"))
	if len(pods) != 1 {
		t.Errorf("pods/<ns>_<name>_<uid>/ for the Job's pod: %v", pods)
	}
}
