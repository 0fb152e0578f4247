package e2e

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// jobManifest is a seed-shaped Job with the given spec lines and container command.
func seedJob(name, spec, command, restartPolicy string) string {
	return fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: %s
spec:
%s  template:
    spec:
      containers:
      - name: tools-container
        image: amsy810/tools:v2.0
        command: %s
      restartPolicy: %s
`, name, spec, command, restartPolicy)
}

// TestJobPatternsCompletionsColumn runs the seed's fixed-completion and work-queue Jobs
// (shorter sleeps) and checks COMPLETIONS while running and at the end.
func TestJobPatternsCompletionsColumn(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.applyYAML(t, seedJob("sample-multi-task-job", "  completions: 5\n  parallelism: 3\n  backoffLimit: 5\n", `["sleep", "2"]`, "Never"))
	s.applyYAML(t, seedJob("sample-multi-workqueue-job", "  parallelism: 3\n  backoffLimit: 1\n", `["sleep", "2"]`, "Never"))

	out := s.mustKubectl(t, "get", "jobs")
	if got := column(out, "sample-multi-task-job", "COMPLETIONS"); got != "0/5" {
		t.Errorf("fixed-completion Job COMPLETIONS = %q, want 0/5\n%s", got, out)
	}
	if got := column(out, "sample-multi-workqueue-job", "COMPLETIONS"); got != "0/1 of 3" {
		t.Errorf("work-queue Job COMPLETIONS = %q, want \"0/1 of 3\"\n%s", got, out)
	}
	if _, stderr, err := s.Kubectl(t, "wait", "--for=condition=complete", "--timeout=90s", "job/sample-multi-task-job", "job/sample-multi-workqueue-job"); err != nil {
		t.Fatalf("kubectl wait: %v\n%s", err, stderr)
	}
	out = s.mustKubectl(t, "get", "jobs")
	if got := column(out, "sample-multi-task-job", "COMPLETIONS"); got != "5/5" {
		t.Errorf("finished Job COMPLETIONS = %q, want 5/5\n%s", got, out)
	}
	if got := column(out, "sample-multi-task-job", "STATUS"); got != "Complete" {
		t.Errorf("finished Job STATUS = %q, want Complete\n%s", got, out)
	}
	// A work queue is done when one pod succeeded and all ended: no new pods after that.
	if got := s.jsonpath(t, "job/sample-multi-workqueue-job", "{.status.succeeded}"); got == "" || got == "0" {
		t.Errorf("work-queue Job succeeded = %q", got)
	}
	pods := s.mustKubectl(t, "get", "pods", "-l", "job-name=sample-multi-task-job", "--no-headers")
	if n := len(strings.Split(strings.TrimSpace(pods), "\n")); n != 5 {
		t.Errorf("fixed-completion Job ran %d pods, want 5:\n%s", n, pods)
	}
}

// TestJobBackoffLimitSevenFailedPods: backoffLimit 6 (the default) means the first run
// plus six retries, then BackoffLimitExceeded, as the seeds observe. The server's back-off
// base is shortened; the rule is the same.
func TestJobBackoffLimitSevenFailedPods(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--job-backoff-base=50ms")
	s.applyYAML(t, `apiVersion: batch/v1
kind: Job
metadata:
  name: abnormal-end
spec:
  completionMode: Indexed
  completions: 1
  parallelism: 1
  template:
    spec:
      containers:
      - name: busybox
        image: busybox:latest
        command: ["sh", "-c", "exit 1"]
      restartPolicy: Never
`)
	if _, stderr, err := s.Kubectl(t, "wait", "--for=condition=failed", "--timeout=90s", "job/abnormal-end"); err != nil {
		t.Fatalf("kubectl wait --for=condition=failed: %v\n%s", err, stderr)
	}
	if got := s.jsonpath(t, "job/abnormal-end", "{.status.failed}"); got != "7" {
		t.Errorf("status.failed = %q, want 7", got)
	}
	reason := s.jsonpath(t, "job/abnormal-end", `{.status.conditions[?(@.type=="Failed")].reason}`)
	if reason != "BackoffLimitExceeded" {
		t.Errorf("Failed reason = %q, want BackoffLimitExceeded", reason)
	}
	pods := s.mustKubectl(t, "get", "pods", "--no-headers")
	if n := strings.Count(pods, "Error"); n != 7 {
		t.Errorf("%d pods in Error, want 7:\n%s", n, pods)
	}
	describe := s.mustKubectl(t, "describe", "job", "abnormal-end")
	for _, want := range []string{"7 Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit", "SuccessfulCreate"} {
		if !strings.Contains(describe, want) {
			t.Errorf("describe job lacks %q:\n%s", want, describe)
		}
	}
}

// TestJobKilledPodNeverAndOnFailure reproduces the seed's exec-and-kill session: under
// restartPolicy Never the Job replaces the failed pod; under OnFailure the container
// restarts in place. Each case has its own sleep duration; pods are host processes, so
// pgrep sees every process: '^sleep N' matches only the pod's sleep, not its sh -c
// "$(sleep N)" parent (killing that first would take the sleep down with it) nor the
// kill command itself.
func TestJobKilledPodNeverAndOnFailure(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--job-backoff-base=50ms")
	cases := []struct {
		name, policy string
		sleep        int
	}{
		{"sample-job-never-restart", "Never", 3617},
		{"sample-job-onfailure-restart", "OnFailure", 3619},
	}
	for _, tc := range cases {
		s.applyYAML(t, seedJob(tc.name, "  completions: 1\n  parallelism: 1\n  backoffLimit: 10\n",
			fmt.Sprintf(`["sh", "-c", "$(sleep %d)"]`, tc.sleep), tc.policy))
	}
	for _, tc := range cases {
		selector := "job-name=" + tc.name
		var pod string
		eventually(t, 30*time.Second, tc.name+" pod running", func() (bool, string) {
			out, _, _ := s.Kubectl(t, "get", "pods", "-l", selector, "--no-headers")
			fields := strings.Fields(out)
			if len(fields) >= 3 && fields[2] == "Running" {
				pod = fields[0]
				return true, out
			}
			return false, out
		})
		if _, stderr, err := s.Kubectl(t, "exec", pod, "--", "sh", "-c", fmt.Sprintf("kill -9 `pgrep -f '^sleep %d'`", tc.sleep)); err != nil {
			t.Fatalf("kubectl exec kill: %v\n%s", err, stderr)
		}
		switch tc.policy {
		case "Never":
			eventually(t, 30*time.Second, "a replacement pod", func() (bool, string) {
				out, _, _ := s.Kubectl(t, "get", "pods", "-l", selector, "--no-headers")
				return strings.Count(out, "Running") == 1 && strings.Count(out, "Error") == 1, out
			})
			if got := s.jsonpath(t, "job/"+tc.name, "{.status.failed}"); got != "1" {
				t.Errorf("%s: status.failed = %q, want 1", tc.name, got)
			}
		case "OnFailure":
			s.waitJSONPath(t, 30*time.Second, "pod/"+pod, "{.status.containerStatuses[0].restartCount}", "1")
			out := s.mustKubectl(t, "get", "pods", "-l", selector, "--no-headers")
			if n := len(strings.Split(strings.TrimSpace(out), "\n")); n != 1 {
				t.Errorf("OnFailure Job has %d pods after the kill, want 1 (restarted in place):\n%s", n, out)
			}
		}
	}
}

// TestJobActiveDeadlineEndsRetries: a failing Job with back-off retries is ended by
// activeDeadlineSeconds before its backoffLimit is reached.
func TestJobActiveDeadlineEndsRetries(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--job-backoff-base=1s")
	s.applyYAML(t, seedJob("deadline", "  backoffLimit: 100\n  activeDeadlineSeconds: 3\n", `["sh", "-c", "sleep 0.2; exit 1"]`, "Never"))
	if _, stderr, err := s.Kubectl(t, "wait", "--for=condition=failed", "--timeout=60s", "job/deadline"); err != nil {
		t.Fatalf("kubectl wait: %v\n%s", err, stderr)
	}
	reason := s.jsonpath(t, "job/deadline", `{.status.conditions[?(@.type=="Failed")].reason}`)
	if reason != "DeadlineExceeded" {
		t.Errorf("Failed reason = %q, want DeadlineExceeded", reason)
	}
	failed, _ := strconv.Atoi(s.jsonpath(t, "job/deadline", "{.status.failed}"))
	if failed < 1 || failed >= 100 {
		t.Errorf("status.failed = %d, want a few retries, well under the back-off limit", failed)
	}
}

// TestJobParallelismPatchedMidRun: parallelism is mutable; raising it starts pods at once.
func TestJobParallelismPatchedMidRun(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.applyYAML(t, seedJob("sample-single-workqueue-job", "  parallelism: 1\n  backoffLimit: 1\n", `["sleep", "30"]`, "Never"))
	s.waitJSONPath(t, 30*time.Second, "job/sample-single-workqueue-job", "{.status.active}", "1")
	if _, stderr, err := s.Kubectl(t, "patch", "job", "sample-single-workqueue-job", "-p", `{"spec":{"parallelism":2}}`); err != nil {
		t.Fatalf("kubectl patch: %v\n%s", err, stderr)
	}
	s.waitJSONPath(t, 30*time.Second, "job/sample-single-workqueue-job", "{.status.active}", "2")
	out := s.mustKubectl(t, "get", "job", "sample-single-workqueue-job")
	if got := column(out, "sample-single-workqueue-job", "COMPLETIONS"); got != "0/1 of 2" {
		t.Errorf("COMPLETIONS = %q, want \"0/1 of 2\"\n%s", got, out)
	}
	// completions stays immutable for NonIndexed Jobs.
	_, stderr, err := s.Kubectl(t, "patch", "job", "sample-single-workqueue-job", "-p", `{"spec":{"completions":3}}`)
	if err == nil || !strings.Contains(stderr, "field is immutable") {
		t.Errorf("patching completions: err=%v stderr=%s, want a 'field is immutable' error", err, stderr)
	}
}

// TestIndexedJobCompletedIndexes: an Indexed Job's pods get their index (env, label,
// hostname) and the Job ends with completedIndexes 0-4.
func TestIndexedJobCompletedIndexes(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.applyYAML(t, seedJob("indexed", "  completionMode: Indexed\n  completions: 5\n  parallelism: 5\n",
		`["sh", "-c", "echo index=$JOB_COMPLETION_INDEX"]`, "Never"))
	if _, stderr, err := s.Kubectl(t, "wait", "--for=condition=complete", "--timeout=60s", "job/indexed"); err != nil {
		t.Fatalf("kubectl wait: %v\n%s", err, stderr)
	}
	if got := s.jsonpath(t, "job/indexed", "{.status.completedIndexes}"); got != "0-4" {
		t.Errorf("completedIndexes = %q, want 0-4", got)
	}
	pod := strings.TrimSpace(s.mustKubectl(t, "get", "pods", "-l", "batch.kubernetes.io/job-completion-index=3", "-o", "jsonpath={.items[0].metadata.name}"))
	if !strings.HasPrefix(pod, "indexed-3-") {
		t.Errorf("pod of index 3 is named %q, want indexed-3-xxxxx", pod)
	}
	if logs := s.mustKubectl(t, "logs", pod); strings.TrimSpace(logs) != "index=3" {
		t.Errorf("logs of index 3 = %q, want index=3", logs)
	}
	if host := s.jsonpath(t, "pod/"+pod, "{.spec.hostname}"); host != "indexed-3" {
		t.Errorf("hostname = %q, want indexed-3", host)
	}
	// The controllers' informers drop managedFields; their writes must not drop the
	// stored ones (each writer's entry stays, as on Kubernetes). Entries sorted.
	managers := map[string]string{
		"pod/" + pod:  "kjet-controller-manager/ kjet-node-agent/status",
		"job/indexed": "kjet-controller-manager/status kubectl-client-side-apply/",
	}
	for obj, want := range managers {
		got := strings.Fields(s.jsonpath(t, obj, `{range .metadata.managedFields[*]}{.manager}/{.subresource}{" "}{end}`))
		slices.Sort(got)
		if strings.Join(got, " ") != want {
			t.Errorf("%s managedFields entries = %q, want %q", obj, strings.Join(got, " "), want)
		}
	}
}
