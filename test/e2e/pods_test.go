package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// podManifest is a bare pod with one container.
func podManifest(name, restartPolicy, command, extraPodSpec, extraContainer string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
  restartPolicy: %s
%s  containers:
  - name: main
    image: busybox
    command: %s
%s`, name, restartPolicy, extraPodSpec, command, extraContainer)
}

// TestPodTooBigStaysPending: a pod asking for more cpu than the node has stays Pending
// with PodScheduled=False/Unschedulable and a FailedScheduling event, as on Kubernetes.
func TestPodTooBigStaysPending(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.applyYAML(t, podManifest("too-big", "Never", `["true"]`, "",
		"    resources:\n      requests:\n        cpu: \"100000\"\n"))
	s.waitJSONPath(t, 30*time.Second, "pod/too-big", `{.status.conditions[?(@.type=="PodScheduled")].reason}`, "Unschedulable")
	if phase := s.jsonpath(t, "pod/too-big", "{.status.phase}"); phase != "Pending" {
		t.Errorf("phase = %q, want Pending", phase)
	}
	msg := s.jsonpath(t, "pod/too-big", `{.status.conditions[?(@.type=="PodScheduled")].message}`)
	if !strings.Contains(msg, "Insufficient cpu") {
		t.Errorf("PodScheduled message = %q, want Insufficient cpu", msg)
	}
	eventually(t, 30*time.Second, "a FailedScheduling event", func() (bool, string) {
		out, _, _ := s.Kubectl(t, "get", "events", "--field-selector", "involvedObject.name=too-big,reason=FailedScheduling", "--no-headers")
		return strings.Contains(out, "Insufficient cpu"), out
	})
	if node := s.jsonpath(t, "pod/too-big", "{.spec.nodeName}"); node != "" {
		t.Errorf("bound to %q", node)
	}
}

// TestPodGracefulDelete: kubectl delete pod sends SIGTERM to the container (a trap sees
// it); a container that ignores SIGTERM is SIGKILLed once its grace period has passed.
func TestPodGracefulDelete(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	dir := t.TempDir()
	termFile := filepath.Join(dir, "term")
	s.applyYAML(t, podManifest("polite", "Never",
		fmt.Sprintf(`["sh", "-c", "trap 'echo TERM > %s; exit 0' TERM; echo ready; while true; do sleep 0.1; done"]`, termFile),
		"  terminationGracePeriodSeconds: 30\n", ""))
	s.applyYAML(t, podManifest("stubborn", "Never",
		`["sh", "-c", "trap '' TERM; echo ready; while true; do sleep 0.1; done"]`,
		"  terminationGracePeriodSeconds: 2\n", ""))
	for _, pod := range []string{"polite", "stubborn"} {
		s.waitJSONPath(t, 30*time.Second, "pod/"+pod, "{.status.phase}", "Running")
		eventually(t, 30*time.Second, pod+" to print ready", func() (bool, string) {
			out, _, _ := s.Kubectl(t, "logs", pod)
			return strings.Contains(out, "ready"), out
		})
	}

	start := time.Now()
	if _, stderr, err := s.Kubectl(t, "delete", "pod", "polite"); err != nil {
		t.Fatalf("delete polite: %v\n%s", err, stderr)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("deleting a pod that exits on SIGTERM took %v (its grace is 30s)", took)
	}
	if data, err := os.ReadFile(termFile); err != nil || strings.TrimSpace(string(data)) != "TERM" {
		t.Errorf("the container did not see SIGTERM: %q %v", data, err)
	}

	start = time.Now()
	if _, stderr, err := s.Kubectl(t, "delete", "pod", "stubborn"); err != nil {
		t.Fatalf("delete stubborn: %v\n%s", err, stderr)
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Errorf("a pod ignoring SIGTERM was gone after %v, before its 2s grace period", took)
	}
	if out, _, _ := s.Kubectl(t, "get", "pods", "--no-headers"); strings.TrimSpace(out) != "" {
		t.Errorf("pods left after delete:\n%s", out)
	}
}

// TestPodCrashLoopBackOff: an OnFailure pod whose container keeps failing restarts in
// place (immediately the first time), then waits in CrashLoopBackOff.
func TestPodCrashLoopBackOff(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.applyYAML(t, podManifest("crasher", "OnFailure", `["sh", "-c", "echo boom; exit 1"]`, "", ""))
	eventually(t, 40*time.Second, "CrashLoopBackOff with restarts", func() (bool, string) {
		out, _, _ := s.Kubectl(t, "get", "pod", "crasher", "--no-headers")
		fields := strings.Fields(out)
		return len(fields) >= 4 && fields[2] == "CrashLoopBackOff" && fields[3] != "0", out
	})
	msg := s.jsonpath(t, "pod/crasher", "{.status.containerStatuses[0].state.waiting.message}")
	if !strings.HasPrefix(msg, "back-off ") || !strings.Contains(msg, "restarting failed container=main pod=crasher_default(") {
		t.Errorf("waiting message = %q", msg)
	}
	if code := s.jsonpath(t, "pod/crasher", "{.status.containerStatuses[0].lastState.terminated.exitCode}"); code != "1" {
		t.Errorf("lastState exit code = %q, want 1", code)
	}
	if out := s.mustKubectl(t, "logs", "crasher", "--previous"); strings.TrimSpace(out) != "boom" {
		t.Errorf("logs --previous = %q, want boom", out)
	}
}
