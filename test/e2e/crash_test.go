package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// The crash-consistency scenario (issue 4): an Indexed Job of crashCompletions pods, each
// sleeping 0-199 ms and appending its index to a file, while the server is killed with
// SIGKILL crashKills times.
const (
	crashCompletions = 500
	crashParallelism = 20
	crashKills       = 5
	// crashBudget bounds the scenario with crashKills kills, from the first start to the
	// Job's completion; each further kill adds crashBudgetPerKill. With the checks, the
	// clean stop (at most stopTimeout) and the supervisor's exit (at most
	// supervisorReapTimeout) the test stays under three minutes; a loaded 2-core machine
	// needs 25-55 s.
	crashBudget        = 140 * time.Second
	crashBudgetPerKill = 5 * time.Second
	// crashSeedEnv replays a run: the seed decides every kill moment and downtime.
	crashSeedEnv = "KJET_CRASH_SEED"
	// crashKillsEnv overrides the number of kills, for soaking (e.g. 40).
	crashKillsEnv = "KJET_CRASH_KILLS"
	// crashJob is the Job's name.
	crashJob = "crash"
	// crashServerFlags: a failed pod (if a crash ever costs one) is replaced quickly.
	crashServerFlags = "--job-backoff-base=100ms"
)

// crashKill is one planned kill: once afterAppends lines are in the file, wait jitter,
// kill -9 the server, wait down, start it again.
type crashKill struct {
	afterAppends int
	jitter, down time.Duration
}

// planCrashKills spreads the kills over the run: kill i happens after a number of
// appends drawn from the i-th of kills equal slices of [5%, 95%] of the indexes, so no
// two kills bunch up and the last one leaves work for the restarted server.
func planCrashKills(rng *rand.Rand, kills int) []crashKill {
	lo, hi := crashCompletions*5/100, crashCompletions*95/100
	width := max((hi-lo)/kills, 1)
	plan := make([]crashKill, kills)
	for i := range plan {
		plan[i] = crashKill{
			afterAppends: lo + i*width + rng.IntN(width),
			jitter:       time.Duration(rng.IntN(100)) * time.Millisecond,
			down:         time.Duration(rng.IntN(300)) * time.Millisecond,
		}
	}
	return plan
}

// crashKillCount is $KJET_CRASH_KILLS when set, else crashKills.
func crashKillCount(t *testing.T) int {
	t.Helper()
	v := os.Getenv(crashKillsEnv)
	if v == "" {
		return crashKills
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > crashCompletions*9/10 {
		t.Fatalf("%s=%q: want a number of kills in [1, %d]", crashKillsEnv, v, crashCompletions*9/10)
	}
	return n
}

// crashSeed is $KJET_CRASH_SEED when set, else a fresh one.
func crashSeed(t *testing.T) uint64 {
	t.Helper()
	if v := os.Getenv(crashSeedEnv); v != "" {
		seed, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", crashSeedEnv, v, err)
		}
		return seed
	}
	return uint64(time.Now().UnixNano())
}

// crashJobManifest is the Job, as JSON (kubectl apply reads it as it reads YAML). Each
// pod sleeps a per-index 0-199 ms (dash has no $RANDOM; the spread is the same) and then
// appends its index with one short O_APPEND write, which is atomic. The marker is the
// shell's $0 (so it is in the shell's command line) and an environment variable (which
// its sleep inherits), so that a scan of /proc finds every process of every pod.
func crashJobManifest(file, marker string) string {
	script := `sleep 0.$(printf %03d $(( JOB_COMPLETION_INDEX * 37 % 200 ))) && echo "$JOB_COMPLETION_INDEX" >> '` + file + `'`
	job := map[string]any{
		"apiVersion": "batch/v1",
		"kind":       "Job",
		"metadata":   map[string]any{"name": crashJob},
		"spec": map[string]any{
			"completionMode": "Indexed",
			"completions":    crashCompletions,
			"parallelism":    crashParallelism,
			// Crashes must not fail the Job; a lost pod is retried and shows in the checks.
			"backoffLimit": 100,
			"template": map[string]any{
				"spec": map[string]any{
					"restartPolicy": "Never",
					"containers": []any{map[string]any{
						"name":    "append",
						"image":   "busybox:latest",
						"command": []string{"sh", "-c", script, marker},
						"env":     []any{map[string]any{"name": "KJET_CRASH_MARKER", "value": marker}},
					}},
				},
			},
		},
	}
	b, err := json.Marshal(job)
	if err != nil {
		panic(err) // a literal map always marshals
	}
	return string(b)
}

// readAppends parses the file of appended indexes: how many times each index appears.
// Lines that are not an index in range are returned as bad.
func readAppends(file string) (counts map[int]int, lines int, bad []string, err error) {
	b, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return map[int]int{}, 0, nil, nil
	}
	if err != nil {
		return nil, 0, nil, fmt.Errorf("reading %s: %w", file, err)
	}
	counts = map[int]int{}
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if l == "" && len(b) == 0 {
			break
		}
		lines++
		ix, err := strconv.Atoi(l)
		if err != nil || ix < 0 || ix >= crashCompletions {
			bad = append(bad, l)
			continue
		}
		counts[ix]++
	}
	return counts, lines, bad, nil
}

// appendedLines counts the lines in the file (0 while it does not exist).
func appendedLines(t *testing.T, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		t.Fatalf("reading %s: %v", file, err)
	}
	return bytes.Count(b, []byte{'\n'})
}

// TestCrashConsistencyIndexedJob kills the server with SIGKILL five times at random
// (seeded, logged) moments of a 500-completion Indexed Job and checks that, after the
// last restart, the Job completes with every index counted exactly once, every index
// ran, an index ran twice only when its earlier pod's success was never recorded, and
// nothing is left running after a clean stop.
//
// Why the duplicate check is sound: a pod's container runs at most once (restartPolicy
// Never; the supervisor outlives the server and records exits durably, so a restarted
// agent re-attaches instead of re-running). So an index appended n times had n pods that
// ran. The Job controller creates another pod for an index only when it sees no active
// and no succeeded pod for it, i.e. when the earlier pod ended Failed (its success, if
// its process did succeed, was never reported) — no pod is deleted in this scenario, so
// every pod is still there at the end. Hence, per index: exactly one Succeeded pod, and
// appends ≤ 1 + the index's Failed pods. And because the finalizer ledger counts each
// pod exactly once, status.succeeded and status.failed must equal the numbers of
// Succeeded and Failed pods.
func TestCrashConsistencyIndexedJob(t *testing.T) {
	seed := crashSeed(t)
	rng := rand.New(rand.NewPCG(seed, seed^0x6b6a6574))
	plan := planCrashKills(rng, crashKillCount(t))
	budget := crashBudget + time.Duration(max(len(plan)-crashKills, 0))*crashBudgetPerKill
	t.Logf("seed %d (replay with %s=%d)", seed, crashSeedEnv, seed)
	for i, k := range plan {
		t.Logf("plan: kill %d after %d appends +%v, down %v", i+1, k.afterAppends, k.jitter, k.down)
	}

	begin := time.Now()
	deadline := begin.Add(budget)
	overBudget := func(what func() string) {
		t.Helper()
		if time.Now().After(deadline) {
			t.Fatalf("crash scenario over its %v budget (%v elapsed) while %s", budget, time.Since(begin).Round(time.Millisecond), what())
		}
	}
	dataDir := t.TempDir()
	marker := fmt.Sprintf("kjet-crash-marker-%d-%d", os.Getpid(), seed)
	file := filepath.Join(t.TempDir(), "indexes.txt")

	s := startServerIn(t, dataDir, crashServerFlags)
	s.applyYAML(t, crashJobManifest(file, marker))
	supervisor := 0
	for i, k := range plan {
		for appendedLines(t, file) < k.afterAppends {
			overBudget(func() string {
				return fmt.Sprintf("waiting for %d appends before kill %d (have %d)", k.afterAppends, i+1, appendedLines(t, file))
			})
			time.Sleep(10 * time.Millisecond)
		}
		// Scenario timing, not synchronisation: the kill lands at a random moment.
		time.Sleep(k.jitter)
		// The supervisor should outlive every kill; a new one is not wrong in itself
		// (the checks below judge the outcome) but worth knowing when reading a failure.
		if pid := supervisorPID(dataDir); pid != supervisor {
			if supervisor != 0 {
				t.Logf("the supervisor changed from pid %d to %d", supervisor, pid)
			}
			supervisor = pid
		}
		s.Kill9(t)
		t.Logf("kill %d at %v: %d appends in the file", i+1, time.Since(begin).Round(time.Millisecond), appendedLines(t, file))
		time.Sleep(k.down) // the server stays down a while (pods go on without it)
		overBudget(func() string { return fmt.Sprintf("restarting after kill %d", i+1) })
		s = startServerIn(t, dataDir, crashServerFlags)
		t.Logf("restart %d ready in %v", i+1, s.StartupTime.Round(time.Millisecond))
	}

	for {
		overBudget(func() string {
			return fmt.Sprintf("waiting for the Job to complete after the last restart (%d appends in the file, status %s)",
				appendedLines(t, file), s.jsonpath(t, "job/"+crashJob, "{.status}"))
		})
		cond := s.jsonpath(t, "job/"+crashJob, `{.status.conditions[?(@.type=="Complete")].status}`)
		if cond == "True" {
			break
		}
		failed := s.jsonpath(t, "job/"+crashJob, `{.status.conditions[?(@.type=="Failed")].status}`)
		if failed == "True" {
			t.Fatalf("the Job failed: %s", s.jsonpath(t, "job/"+crashJob, "{.status}"))
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("Job complete at %v", time.Since(begin).Round(time.Millisecond))

	var job batchv1.Job
	if err := json.Unmarshal([]byte(s.mustKubectl(t, "get", "job", crashJob, "-o", "json")), &job); err != nil {
		t.Fatalf("decoding the Job: %v", err)
	}
	var pods corev1.PodList
	if err := json.Unmarshal([]byte(s.mustKubectl(t, "get", "pods", "-l", "job-name="+crashJob, "-o", "json")), &pods); err != nil {
		t.Fatalf("decoding the Job's pods: %v", err)
	}
	counts, lines, bad, err := readAppends(file)
	if err != nil {
		t.Fatal(err)
	}
	checkCrashOutcome(t, &job, pods.Items, counts, lines, bad)

	// Nothing may be left running: no pod process now (every pod has ended), and after
	// the clean stop neither the supervisor nor any process of kjet's data dir.
	if procs := processesMatching(marker, true); len(procs) > 0 {
		t.Errorf("pod processes still running after the Job completed:\n%s", strings.Join(procs, "\n"))
	}
	if sups := processesMatching(filepath.Join(dataDir, "supervisor"), false); len(sups) != 1 {
		t.Errorf("%d supervisors of %s are running, want 1:\n%s", len(sups), dataDir, strings.Join(sups, "\n"))
	}
	pid := supervisorPID(dataDir)
	if pid == 0 {
		t.Errorf("no supervisor running for %s before the clean stop", dataDir)
	}
	if err := s.Stop(t); err != nil {
		t.Errorf("clean stop: %v\n%s", err, s.Stderr())
	}
	stopped := time.Now()
	for pid != 0 && processAlive(pid) {
		if time.Since(stopped) > supervisorReapTimeout {
			t.Fatalf("the supervisor (pid %d) still runs %v after the server stopped cleanly", pid, supervisorReapTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if procs := append(processesMatching(marker, true), processesMatching(dataDir, false)...); len(procs) > 0 {
		t.Errorf("processes left behind after the clean stop:\n%s", strings.Join(procs, "\n"))
	}
	t.Logf("whole scenario: %v (budget %v)", time.Since(begin).Round(time.Millisecond), budget)
}

// checkCrashOutcome checks the finished Job against its pods and the appended indexes;
// see TestCrashConsistencyIndexedJob for why these rules are the right ones.
func checkCrashOutcome(t *testing.T, job *batchv1.Job, pods []corev1.Pod, counts map[int]int, lines int, bad []string) {
	t.Helper()
	st := job.Status
	if st.Succeeded != crashCompletions {
		t.Errorf("status.succeeded = %d, want %d", st.Succeeded, crashCompletions)
	}
	if want := fmt.Sprintf("0-%d", crashCompletions-1); st.CompletedIndexes != want {
		t.Errorf("status.completedIndexes = %q, want %q", st.CompletedIndexes, want)
	}
	if u := st.UncountedTerminatedPods; u != nil && len(u.Succeeded)+len(u.Failed) > 0 {
		t.Errorf("status.uncountedTerminatedPods not empty after completion: %+v", *u)
	}
	if len(bad) > 0 {
		t.Errorf("%d lines of the file are not an index in [0, %d): %q", len(bad), crashCompletions, bad)
	}

	type indexPods struct{ succeeded, failed, other int }
	byIndex := map[int]*indexPods{}
	var succeeded, failed int32
	var failedPods []string
	for i := range pods {
		p := &pods[i]
		ix, err := strconv.Atoi(p.Annotations[batchv1.JobCompletionIndexAnnotation])
		if err != nil {
			t.Errorf("pod %s has no completion index: %v", p.Name, err)
			continue
		}
		ip := byIndex[ix]
		if ip == nil {
			ip = &indexPods{}
			byIndex[ix] = ip
		}
		switch p.Status.Phase {
		case corev1.PodSucceeded:
			ip.succeeded++
			succeeded++
		case corev1.PodFailed:
			ip.failed++
			failed++
			failedPods = append(failedPods, fmt.Sprintf("%s (index %d): %s %s", p.Name, ix, p.Status.Reason, p.Status.Message))
		default:
			ip.other++
			t.Errorf("pod %s (index %d) is %s after the Job completed", p.Name, ix, p.Status.Phase)
		}
		for _, f := range p.Finalizers {
			if f == batchv1.JobTrackingFinalizer {
				t.Errorf("pod %s still has the %s finalizer after the Job completed", p.Name, f)
			}
		}
		for _, cs := range p.Status.ContainerStatuses {
			if cs.RestartCount != 0 {
				t.Errorf("pod %s (restartPolicy Never) has restartCount %d", p.Name, cs.RestartCount)
			}
		}
	}
	sort.Strings(failedPods)
	for _, f := range failedPods {
		t.Logf("failed pod: %s", f)
	}
	if succeeded != st.Succeeded || failed != st.Failed {
		t.Errorf("pods Succeeded/Failed = %d/%d but status.succeeded/failed = %d/%d: a pod was counted twice or not at all",
			succeeded, failed, st.Succeeded, st.Failed)
	}

	var missing, duplicated []string
	for ix := range crashCompletions {
		ip := byIndex[ix]
		if ip == nil {
			ip = &indexPods{}
		}
		if ip.succeeded != 1 {
			t.Errorf("index %d has %d Succeeded pods, want exactly 1 (%d failed, %d other)", ix, ip.succeeded, ip.failed, ip.other)
		}
		n := counts[ix]
		switch {
		case n == 0:
			missing = append(missing, strconv.Itoa(ix))
		case n > 1:
			duplicated = append(duplicated, fmt.Sprintf("%d×%d", ix, n))
			if n > 1+ip.failed {
				t.Errorf("index %d appended %d times but it had only %d failed pod(s) besides its succeeded one: a pod ran twice, or a second pod ran although the first one's success was recorded", ix, n, ip.failed)
			}
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d indexes never appended although the Job counts them: %s", len(missing), strings.Join(missing, ","))
	}
	t.Logf("file: %d lines; pods: %d succeeded, %d failed; status.failed %d; duplicated indexes (each explained by a failed pod unless reported above): %v",
		lines, succeeded, failed, st.Failed, duplicated)
}

// processesMatching lists the processes whose command line (or, withEnv, environment)
// contains s, as "PID: command line". Zombies are not counted: they run nothing.
func processesMatching(s string, withEnv bool) []string {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return []string{"reading /proc: " + err.Error()}
	}
	self := strconv.Itoa(os.Getpid())
	var found []string
	for _, e := range entries {
		pid := e.Name()
		if pid == self || pid[0] < '0' || pid[0] > '9' {
			continue
		}
		n, _ := strconv.Atoi(pid)
		if !processAlive(n) {
			continue
		}
		cmdline, _ := os.ReadFile("/proc/" + pid + "/cmdline")
		var environ []byte
		if withEnv {
			environ, _ = os.ReadFile("/proc/" + pid + "/environ")
		}
		if bytes.Contains(cmdline, []byte(s)) || bytes.Contains(environ, []byte(s)) {
			found = append(found, pid+": "+string(bytes.ReplaceAll(bytes.TrimRight(cmdline, "\x00"), []byte{0}, []byte{' '})))
		}
	}
	return found
}
