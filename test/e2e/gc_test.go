package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// streamTimeout bounds every streaming kubectl (watches) a test starts.
const streamTimeout = 50 * time.Second

// startKubectlStream starts `kjet kubectl ARGS` whose output is read as it streams (its
// stderr is collected in the returned buffer); the process is killed and reaped when the
// test ends (or after streamTimeout).
func (s *Server) startKubectlStream(t *testing.T, args ...string) (io.Reader, *lockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), streamTimeout)
	cmd := exec.CommandContext(ctx, kjetBinary, append([]string{"kubectl"}, args...)...)
	cmd.Env = append(cleanEnv(), "HOME="+s.Home, "KJET_DATA_DIR="+s.DataDir)
	stderr := &lockedBuffer{}
	cmd.Stderr = writerFunc(func(p []byte) (int, error) { stderr.WriteLine(strings.TrimRight(string(p), "\n")); return len(p), nil })
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatalf("kubectl stream pipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting kubectl %s: %v", strings.Join(args, " "), err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("kubectl %s stderr:\n%s", strings.Join(args, " "), stderr.String())
		}
	})
	return out, stderr
}

// writerFunc adapts a function to io.Writer.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// readLinesUntil reads lines from r until one satisfies stop, returning every line read
// (stop's line last); the test fails if the stream ends or timeout passes first.
func readLinesUntil(t *testing.T, r io.Reader, timeout time.Duration, what string, stop func(string) bool) []string {
	t.Helper()
	type result struct {
		lines []string
		ok    bool
	}
	done := make(chan result, 1)
	go func() {
		var lines []string
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if stop(sc.Text()) {
				done <- result{lines, true}
				return
			}
		}
		done <- result{lines, false}
	}()
	select {
	case res := <-done:
		if !res.ok {
			t.Fatalf("stream ended before %s:\n%s", what, strings.Join(res.lines, "\n"))
		}
		return res.lines
	case <-time.After(timeout):
		t.Fatalf("no %s within %v", what, timeout)
		return nil
	}
}

// watchEvent is one object of `kubectl get -w --output-watch-events -o json`.
type watchEvent struct {
	Type   string `json:"type"`
	Object struct {
		Metadata metav1.ObjectMeta `json:"metadata"`
	} `json:"object"`
}

// readEventsUntil decodes watch events from r until one satisfies stop (see readLinesUntil).
func readEventsUntil(t *testing.T, r io.Reader, timeout time.Duration, what string, stop func(watchEvent) bool) []watchEvent {
	t.Helper()
	type result struct {
		events []watchEvent
		err    error
	}
	done := make(chan result, 1)
	go func() {
		var events []watchEvent
		dec := json.NewDecoder(r)
		for {
			var e watchEvent
			if err := dec.Decode(&e); err != nil {
				done <- result{events, err}
				return
			}
			events = append(events, e)
			if stop(e) {
				done <- result{events, nil}
				return
			}
		}
	}()
	select {
	case res := <-done:
		if res.err != nil {
			t.Fatalf("watch ended before %s (%v); saw %+v", what, res.err, res.events)
		}
		return res.events
	case <-time.After(timeout):
		t.Fatalf("no %s within %v", what, timeout)
		return nil
	}
}

// pods lists the pods of the default namespace matching selector ("" for all).
func (s *Server) pods(t *testing.T, selector string) []corev1.Pod {
	t.Helper()
	args := []string{"get", "pods", "-o", "json"}
	if selector != "" {
		args = append(args, "-l", selector)
	}
	out, _, err := s.Kubectl(t, args...)
	if err != nil {
		return nil
	}
	var list corev1.PodList
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("decoding pod list: %v\n%s", err, out)
	}
	return list.Items
}

// podSummary is one line per pod: name, phase, owner UIDs and finalizers.
func podSummary(pods []corev1.Pod) string {
	var b strings.Builder
	for _, p := range pods {
		var owners []string
		for _, o := range p.OwnerReferences {
			owners = append(owners, o.Kind+"/"+o.Name+"/"+string(o.UID))
		}
		fmt.Fprintf(&b, "%s %s owners=%v finalizers=%v deleting=%v\n", p.Name, p.Status.Phase, owners, p.Finalizers, p.DeletionTimestamp != nil)
	}
	return b.String()
}

// sleepingJob is a Job of n pods that sleep for secs seconds (a number unique to the
// test, so that its processes can be found); extra holds further spec lines.
func sleepingJob(name string, n, secs int, extra string) string {
	return fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: %s
spec:
  completions: %d
  parallelism: %d
%s  template:
    spec:
      restartPolicy: Never
      containers:
      - name: worker
        image: busybox
        command: ["sh", "-c", "sleep %d"]
`, name, n, n, extra, secs)
}

// startSleepingJob creates a sleeping Job and waits until all its pods and their
// processes run.
func (s *Server) startSleepingJob(t *testing.T, name string, n, secs int) {
	t.Helper()
	s.applyYAML(t, sleepingJob(name, n, secs, ""))
	eventually(t, 30*time.Second, fmt.Sprintf("%d running pods of %s", n, name), func() (bool, string) {
		pods := s.pods(t, "job-name="+name)
		running := 0
		for _, p := range pods {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		return running == n && len(pods) == n, podSummary(pods)
	})
	eventually(t, 10*time.Second, fmt.Sprintf("%d sleep %d processes", n, secs), func() (bool, string) {
		got := sleepProcesses(secs)
		return len(got) == n, fmt.Sprint(got)
	})
}

// sleepProcesses lists the running processes whose command line is "sleep SECS" (pods
// are host processes; the shell that started one is not counted).
func sleepProcesses(secs int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	want := fmt.Sprintf("sleep %d", secs)
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil || zombie(stat) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		args := strings.Fields(strings.ReplaceAll(string(cmdline), "\x00", " "))
		if strings.Join(args, " ") == want {
			pids = append(pids, pid)
		}
	}
	return pids
}

// waitNoSleepProcesses waits until no "sleep SECS" process runs.
func waitNoSleepProcesses(t *testing.T, timeout time.Duration, secs int) {
	t.Helper()
	eventually(t, timeout, fmt.Sprintf("no sleep %d processes", secs), func() (bool, string) {
		got := sleepProcesses(secs)
		return len(got) == 0, fmt.Sprint(got)
	})
}

// waitNoPods waits until no pod matches selector.
func (s *Server) waitNoPods(t *testing.T, timeout time.Duration, selector string) {
	t.Helper()
	eventually(t, timeout, "no pods with "+selector, func() (bool, string) {
		out, _, err := s.Kubectl(t, "get", "pods", "-l", selector, "-o", "name")
		return err == nil && strings.TrimSpace(out) == "", out
	})
}

// waitGone waits until kubectl get resource answers NotFound.
func (s *Server) waitGone(t *testing.T, timeout time.Duration, resource string) {
	t.Helper()
	eventually(t, timeout, resource+" gone", func() (bool, string) {
		_, stderr, err := s.Kubectl(t, "get", resource)
		return err != nil && strings.Contains(stderr, "NotFound"), stderr
	})
}

// TestTTLAfterFinished runs the seed's sample-job-ttl with short values and watches it go;
// a TTL changed on a finished Job is honoured.
func TestTTLAfterFinished(t *testing.T) {
	t.Parallel()
	s := startServer(t)

	t.Run("seed sample-job-ttl watched until DELETED", func(t *testing.T) {
		t.Parallel()
		seed, err := os.ReadFile(filepath.Join(repoRoot, "examples", "sample-job-ttl.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		manifest := strings.Replace(string(seed), "ttlSecondsAfterFinished: 30", "ttlSecondsAfterFinished: 2", 1)
		manifest = strings.Replace(manifest, `args: ["60"]`, `args: ["1"]`, 1)
		if manifest == string(seed) || !strings.Contains(manifest, `args: ["1"]`) {
			t.Fatalf("seed sample-job-ttl.yaml changed shape:\n%s", seed)
		}
		// Watched from before it exists, as in observed/08-ttl-watch.txt, so that no state is
		// missed however slowly kubectl starts: `get job NAME` would need the Job to exist,
		// so the name goes in a field selector.
		// -v=6 logs each request once its response has begun, so the watch's request in
		// stderr means the watch is established.
		watch, watchErr := s.startKubectlStream(t, "get", "jobs", "--field-selector=metadata.name=sample-job-ttl", "--watch", "--output-watch-events", "--request-timeout=45s", "-v=6")
		eventually(t, 20*time.Second, "the watch established", func() (bool, string) {
			out := watchErr.String()
			return strings.Contains(out, "watch=true") && strings.Contains(out, "200 OK"), out
		})
		s.applyYAML(t, manifest)
		// The same Job watched by name, started once it exists.
		named, _ := s.startKubectlStream(t, "get", "job", "sample-job-ttl", "--watch", "--output-watch-events", "--request-timeout=45s")
		namedLines := make(chan []string, 1)
		go func() {
			var got []string
			sc := bufio.NewScanner(named)
			for sc.Scan() {
				got = append(got, sc.Text())
				if strings.HasPrefix(sc.Text(), "DELETED") {
					break
				}
			}
			namedLines <- got
		}()
		lines := readLinesUntil(t, watch, 40*time.Second, "a DELETED row", func(l string) bool { return strings.HasPrefix(l, "DELETED") })
		t.Logf("watch:\n%s", strings.Join(lines, "\n"))
		if got := strings.Join(strings.Fields(lines[0]), " "); got != "EVENT NAME STATUS COMPLETIONS DURATION AGE" {
			t.Errorf("watch header = %q", got)
		}
		if len(lines) < 4 || !strings.HasPrefix(lines[1], "ADDED ") {
			t.Fatalf("watch rows do not start with ADDED:\n%s", strings.Join(lines, "\n"))
		}
		// As observed on Kubernetes 1.34: MODIFIED rows go Running → SuccessCriteriaMet 0/1
		// (the interim condition, written first) → Complete 1/1 (then the deletion marks).
		var statuses []string
		for _, l := range lines[2 : len(lines)-1] {
			f := strings.Fields(l)
			if len(f) < 4 || f[0] != "MODIFIED" || f[1] != "sample-job-ttl" {
				t.Errorf("unexpected watch row %q", l)
				continue
			}
			if st := f[2] + " " + f[3]; len(statuses) == 0 || statuses[len(statuses)-1] != st {
				statuses = append(statuses, st)
			}
		}
		if got := strings.Join(statuses, ", "); !strings.HasSuffix(got, "SuccessCriteriaMet 0/1, Complete 1/1") {
			t.Errorf("MODIFIED rows went %s; want them to end SuccessCriteriaMet 0/1, Complete 1/1 before DELETED:\n%s", got, strings.Join(lines, "\n"))
		}
		if f := strings.Fields(lines[len(lines)-1]); len(f) < 4 || f[1] != "sample-job-ttl" || f[2] != "Complete" || f[3] != "1/1" {
			t.Errorf("DELETED row = %q, want the Complete 1/1 Job", lines[len(lines)-1])
		}
		select {
		case got := <-namedLines:
			if len(got) < 3 || !strings.HasPrefix(got[1], "ADDED ") || !strings.HasPrefix(got[len(got)-1], "DELETED ") {
				t.Errorf("kubectl get job sample-job-ttl --watch --output-watch-events printed:\n%s", strings.Join(got, "\n"))
			}
		case <-time.After(20 * time.Second):
			t.Errorf("the watch by name saw no DELETED")
		}
		// The TTL controller deletes in the foreground: the pods went before the Job.
		if pods := s.pods(t, "job-name=sample-job-ttl"); len(pods) != 0 {
			t.Errorf("pods left after the Job was deleted:\n%s", podSummary(pods))
		}
	})

	t.Run("TTL shortened on a finished Job", func(t *testing.T) {
		t.Parallel()
		s.applyYAML(t, seedJob("ttl-shortened", "  ttlSecondsAfterFinished: 3600\n", `["true"]`, "Never"))
		if _, stderr, err := s.Kubectl(t, "wait", "--for=condition=complete", "--timeout=30s", "job/ttl-shortened"); err != nil {
			t.Fatalf("kubectl wait: %v\n%s", err, stderr)
		}
		s.mustKubectl(t, "patch", "job", "ttl-shortened", "-p", `{"spec":{"ttlSecondsAfterFinished":1}}`)
		s.waitGone(t, 20*time.Second, "job/ttl-shortened")
		s.waitNoPods(t, 10*time.Second, "job-name=ttl-shortened")
	})

	t.Run("TTL 0 on a failed Job", func(t *testing.T) {
		t.Parallel()
		s.applyYAML(t, seedJob("ttl-failed", "  ttlSecondsAfterFinished: 0\n  backoffLimit: 0\n", `["sh", "-c", "exit 3"]`, "Never"))
		s.waitGone(t, 30*time.Second, "job/ttl-failed")
		s.waitNoPods(t, 10*time.Second, "job-name=ttl-failed")
	})

	t.Run("TTL lengthened on a finished Job", func(t *testing.T) {
		t.Parallel()
		s.applyYAML(t, seedJob("ttl-lengthened", "  ttlSecondsAfterFinished: 8\n", `["true"]`, "Never"))
		if _, stderr, err := s.Kubectl(t, "wait", "--for=condition=complete", "--timeout=30s", "job/ttl-lengthened"); err != nil {
			t.Fatalf("kubectl wait: %v\n%s", err, stderr)
		}
		s.mustKubectl(t, "patch", "job", "ttl-lengthened", "-p", `{"spec":{"ttlSecondsAfterFinished":3600}}`)
		finished, err := time.Parse(time.RFC3339, s.jsonpath(t, "job/ttl-lengthened", `{.status.conditions[?(@.type=="Complete")].lastTransitionTime}`))
		if err != nil {
			t.Fatalf("Complete condition time: %v", err)
		}
		// Past the old expiry by two seconds, the Job is still there.
		consistently(t, time.Until(finished.Add(10*time.Second)), "the lengthened TTL", func() (bool, string) {
			_, stderr, err := s.Kubectl(t, "get", "job", "ttl-lengthened")
			return err == nil, stderr
		})
	})
}

// TestGarbageCollection checks the deletion propagation policies on Jobs and their pods,
// orphaning and adoption, and the collection of dangling dependents.
func TestGarbageCollection(t *testing.T) {
	t.Parallel()
	s := startServer(t)

	t.Run("orphan then adopt with manualSelector", func(t *testing.T) {
		t.Parallel()
		s.startSleepingJob(t, "old", 3, 4711)
		oldUID := s.jsonpath(t, "job/old", "{.metadata.uid}")
		var names []string
		for _, p := range s.pods(t, "job-name=old") {
			names = append(names, p.Name)
		}
		out := s.mustKubectl(t, "delete", "job", "old", "--cascade=orphan")
		if !strings.HasPrefix(out, `job.batch "old" deleted`) {
			t.Errorf("delete printed %q", out)
		}
		s.waitGone(t, 10*time.Second, "job/old")
		// The orphan finalizer held the Job until its pods' references to it were removed.
		for _, p := range s.pods(t, "batch.kubernetes.io/controller-uid="+oldUID) {
			if len(p.OwnerReferences) != 0 {
				t.Errorf("pod %s still refers to the deleted Job: %+v", p.Name, p.OwnerReferences)
			}
		}
		eventually(t, 20*time.Second, "orphans without ownerReferences or finalizers", func() (bool, string) {
			pods := s.pods(t, "batch.kubernetes.io/controller-uid="+oldUID)
			ok := len(pods) == 3
			for _, p := range pods {
				ok = ok && len(p.OwnerReferences) == 0 && len(p.Finalizers) == 0 && p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil
			}
			return ok, podSummary(pods)
		})
		if got := sleepProcesses(4711); len(got) != 3 {
			t.Errorf("orphaned pods' processes %v, want 3 still running", got)
		}

		s.applyYAML(t, strings.Replace(sleepingJob("new", 3, 4716, fmt.Sprintf(`  manualSelector: true
  selector:
    matchLabels:
      batch.kubernetes.io/controller-uid: %s
`, oldUID)), "    spec:\n      restartPolicy", fmt.Sprintf("    metadata:\n      labels:\n        batch.kubernetes.io/controller-uid: %s\n    spec:\n      restartPolicy", oldUID), 1))
		newUID := s.jsonpath(t, "job/new", "{.metadata.uid}")
		eventually(t, 30*time.Second, "new adopting the orphans as its active pods", func() (bool, string) {
			pods := s.pods(t, "batch.kubernetes.io/controller-uid="+oldUID)
			ok := len(pods) == 3
			for _, p := range pods {
				ref := metav1.GetControllerOf(&p)
				ok = ok && ref != nil && string(ref.UID) == newUID && ref.Kind == "Job" && ref.Name == "new" && p.Status.Phase == corev1.PodRunning
			}
			active := s.jsonpath(t, "job/new", "{.status.active}/{.status.ready}")
			return ok && active == "3/3", active + "\n" + podSummary(pods)
		})
		var now []string
		for _, p := range s.pods(t, "") {
			if strings.HasPrefix(p.Name, "old-") || strings.HasPrefix(p.Name, "new-") {
				now = append(now, p.Name)
			}
		}
		slices.Sort(names)
		slices.Sort(now)
		if !slices.Equal(names, now) {
			t.Errorf("pods after adoption %v, want the orphans %v only", now, names)
		}
		if got, extra := sleepProcesses(4711), sleepProcesses(4716); len(got) != 3 || len(extra) != 0 {
			t.Errorf("after adoption: %v adopted processes (want 3), %v new ones (want none)", got, extra)
		}
	})

	t.Run("foreground deletes the pods before the Job", func(t *testing.T) {
		t.Parallel()
		s.startSleepingJob(t, "fg", 2, 4712)
		watch, _ := s.startKubectlStream(t, "get", "job", "fg", "--watch", "--output-watch-events", "-o", "json", "--request-timeout=45s")
		readEventsUntil(t, watch, 20*time.Second, "the initial ADDED event", func(e watchEvent) bool { return e.Type == "ADDED" })
		if out := s.mustKubectl(t, "delete", "job", "fg", "--cascade=foreground"); !strings.HasPrefix(out, `job.batch "fg" deleted`) {
			t.Errorf("delete printed %q", out)
		}
		var podsAtDeleted []corev1.Pod
		events := readEventsUntil(t, watch, 30*time.Second, "DELETED", func(e watchEvent) bool {
			if e.Type == "DELETED" {
				podsAtDeleted = s.pods(t, "job-name=fg")
				return true
			}
			return false
		})
		marked := false
		for _, e := range events[:len(events)-1] {
			m := e.Object.Metadata
			if e.Type == "MODIFIED" && m.DeletionTimestamp != nil && slices.Contains(m.Finalizers, metav1.FinalizerDeleteDependents) {
				marked = true
			}
		}
		if !marked {
			t.Errorf("no MODIFIED event with deletionTimestamp and the foregroundDeletion finalizer before DELETED: %+v", events)
		}
		if len(podsAtDeleted) != 0 {
			t.Errorf("pods still there when the Job was deleted:\n%s", podSummary(podsAtDeleted))
		}
		waitNoSleepProcesses(t, 15*time.Second, 4712)
	})

	t.Run("background is kubectl's default", func(t *testing.T) {
		t.Parallel()
		s.startSleepingJob(t, "bg", 2, 4713)
		if out := s.mustKubectl(t, "delete", "job", "bg"); !strings.HasPrefix(out, `job.batch "bg" deleted`) {
			t.Errorf("delete printed %q", out)
		}
		s.waitNoPods(t, 30*time.Second, "job-name=bg")
		waitNoSleepProcesses(t, 15*time.Second, 4713)
	})

	t.Run("raw delete orphans with a warning", func(t *testing.T) {
		t.Parallel()
		s.startSleepingJob(t, "raw", 2, 4714)
		_, stderr, err := s.Kubectl(t, "delete", "--raw", "/apis/batch/v1/namespaces/default/jobs/raw")
		if err != nil {
			t.Fatalf("kubectl delete --raw: %v\n%s", err, stderr)
		}
		want := "Warning: child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning"
		if !strings.Contains(stderr, want) {
			t.Errorf("delete --raw stderr = %q, want %q", stderr, want)
		}
		s.waitGone(t, 10*time.Second, "job/raw")
		for _, p := range s.pods(t, "job-name=raw") {
			if len(p.OwnerReferences) != 0 {
				t.Errorf("pod %s still refers to the deleted Job: %+v", p.Name, p.OwnerReferences)
			}
		}
		eventually(t, 20*time.Second, "the pods of raw orphaned and running", func() (bool, string) {
			pods := s.pods(t, "job-name=raw")
			ok := len(pods) == 2
			for _, p := range pods {
				ok = ok && len(p.OwnerReferences) == 0 && len(p.Finalizers) == 0 && p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil
			}
			return ok, podSummary(pods)
		})
		if got := sleepProcesses(4714); len(got) != 2 {
			t.Errorf("orphaned pods' processes %v, want 2 still running", got)
		}
		var orphans []string
		for _, p := range s.pods(t, "job-name=raw") {
			orphans = append(orphans, p.Name)
		}
		// Re-created under the same name, the Job has a new UID and selector: it starts
		// pods of its own and leaves the orphans alone (observed/10-delete-orphan.txt).
		s.applyYAML(t, sleepingJob("raw", 2, 4714, ""))
		newUID := s.jsonpath(t, "job/raw", "{.metadata.uid}")
		eventually(t, 30*time.Second, "the new raw running two pods of its own beside the orphans", func() (bool, string) {
			pods := s.pods(t, "job-name=raw")
			own, untouched := 0, 0
			for _, p := range pods {
				switch ref := metav1.GetControllerOf(&p); {
				case slices.Contains(orphans, p.Name) && ref == nil && p.Status.Phase == corev1.PodRunning:
					untouched++
				case ref != nil && string(ref.UID) == newUID && p.Status.Phase == corev1.PodRunning:
					own++
				}
			}
			return own == 2 && untouched == 2 && len(pods) == 4, podSummary(pods)
		})
	})

	t.Run("dangling owner collected", func(t *testing.T) {
		t.Parallel()
		// An object with the owner's name exists, but not with its UID.
		s.mustKubectl(t, "create", "configmap", "ghost")
		s.applyYAML(t, `apiVersion: v1
kind: Pod
metadata:
  name: ghost-child
  ownerReferences:
  - apiVersion: v1
    kind: ConfigMap
    name: ghost
    uid: 6e1f3c2a-0000-4000-8000-000000000001
spec:
  restartPolicy: Never
  containers:
  - name: worker
    image: busybox
    command: ["sh", "-c", "sleep 4715"]
`)
		cmUID := s.jsonpath(t, "configmap/ghost", "{.metadata.uid}")
		s.applyYAML(t, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: half-orphan
  ownerReferences:
  - apiVersion: v1
    kind: ConfigMap
    name: ghost
    uid: 6e1f3c2a-0000-4000-8000-000000000001
  - apiVersion: v1
    kind: ConfigMap
    name: ghost
    uid: %s
spec:
  restartPolicy: Never
  containers:
  - name: worker
    image: busybox
    command: ["sh", "-c", "sleep 4717"]
`, cmUID))
		s.waitGone(t, 30*time.Second, "pod/ghost-child")
		waitNoSleepProcesses(t, 15*time.Second, 4715)
		// With one owner still there, only the dangling reference goes.
		eventually(t, 20*time.Second, "half-orphan keeping only its live owner", func() (bool, string) {
			got := s.jsonpath(t, "pod/half-orphan", "{.metadata.ownerReferences[*].uid}")
			return got == cmUID, got
		})
		if got := sleepProcesses(4717); len(got) != 1 {
			t.Errorf("half-orphan's process %v, want it running", got)
		}
		if _, stderr, err := s.Kubectl(t, "get", "configmap", "ghost"); err != nil {
			t.Errorf("the name-alike ConfigMap went too: %v\n%s", err, stderr)
		}
	})
}
