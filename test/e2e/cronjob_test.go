package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// cronClockSpeed makes `*/1 * * * *` fire about once a real second.
const cronClockSpeed = "60"

// scheduledTimestampAnnotation is set by the CronJob controller on every Job it creates.
const scheduledTimestampAnnotation = "batch.kubernetes.io/cronjob-scheduled-timestamp"

// cronJobYAML is a `*/1 * * * *` CronJob whose pods run command; extra holds further
// spec lines (two-space indented).
func cronJobYAML(name, extra, command string) string {
	return fmt.Sprintf(`apiVersion: batch/v1
kind: CronJob
metadata:
  name: %s
spec:
  schedule: "*/1 * * * *"
%s  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: worker
            image: busybox
            command: %s
`, name, extra, command)
}

// mustSystemKubectl runs the machine's kubectl and fails the test on a non-zero exit.
func (s *Server) mustSystemKubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := s.SystemKubectl(t, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// jobs lists the Jobs of the default namespace (nil when the list fails).
func (s *Server) jobs(t *testing.T) []batchv1.Job {
	t.Helper()
	out, _, err := s.Kubectl(t, "get", "jobs", "-o", "json")
	if err != nil {
		return nil
	}
	var list batchv1.JobList
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("decoding job list: %v\n%s", err, out)
	}
	return list.Items
}

// cronJobChildren lists the Jobs whose controller reference names the CronJob, oldest
// scheduled time first.
func (s *Server) cronJobChildren(t *testing.T, cronJob string) []batchv1.Job {
	t.Helper()
	var children []batchv1.Job
	for _, j := range s.jobs(t) {
		for _, ref := range j.OwnerReferences {
			if ref.Kind == "CronJob" && ref.Name == cronJob && ref.Controller != nil && *ref.Controller {
				children = append(children, j)
			}
		}
	}
	sort.Slice(children, func(a, b int) bool {
		return children[a].Annotations[scheduledTimestampAnnotation] < children[b].Annotations[scheduledTimestampAnnotation]
	})
	return children
}

// jobNames lists the names of jobs.
func jobNames(jobs []batchv1.Job) []string {
	names := make([]string, 0, len(jobs))
	for _, j := range jobs {
		names = append(names, j.Name)
	}
	return names
}

// jobFinished reports whether a Job has a Complete or Failed condition that is true.
func jobFinished(j batchv1.Job) (batchv1.JobConditionType, bool) {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return c.Type, true
		}
	}
	return "", false
}

// eventCount sums the counts of the events about object name with reason whose message
// contains text.
func (s *Server) eventCount(t *testing.T, name, reason, text string) int {
	t.Helper()
	out, _, err := s.Kubectl(t, "get", "events", "-o", "json")
	if err != nil {
		return 0
	}
	var list corev1.EventList
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("decoding event list: %v\n%s", err, out)
	}
	n := 0
	for _, e := range list.Items {
		if e.InvolvedObject.Name == name && e.Reason == reason && strings.Contains(e.Message, text) {
			n += max(int(e.Count), 1)
		}
	}
	return n
}

// consistently polls check for the whole duration and fails the test as soon as it
// reports a violation: the way to show that something does not happen.
func consistently(t *testing.T, d time.Duration, what string, check func() (ok bool, detail string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if ok, detail := check(); !ok {
			t.Fatalf("%s violated:\n%s", what, detail)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestCronJobFastClock runs CronJobs on a clock 60 times faster than real time, so
// `*/1 * * * *` fires about every second, and checks them through the machine's kubectl.
func TestCronJobFastClock(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(systemKubectl); err != nil {
		t.Skipf("no system kubectl at %s", systemKubectl)
	}
	s := startServer(t, "--cron-clock-speed="+cronClockSpeed, "--job-backoff-base=50ms")

	t.Run("schedule names annotation and columns", func(t *testing.T) {
		t.Parallel()
		// The text of spec/k8s-observed/scenarios/cronjob.yaml.
		out := s.mustSystemKubectl(t, "apply", "-f", writeFile(t, "cronjob.yaml", cronJobYAML("every-minute", "", `["sh", "-c", "date"]`)))
		if !strings.Contains(out, "cronjob.batch/every-minute created") {
			t.Errorf("apply printed %q", out)
		}
		table := s.mustSystemKubectl(t, "get", "cronjobs")
		if head := strings.Fields(strings.SplitN(table, "\n", 2)[0]); strings.Join(head, " ") != "NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE" {
			t.Errorf("kubectl get cronjobs header = %v", head)
		}
		for header, want := range map[string]string{"SCHEDULE": "*/1 * * * *", "TIMEZONE": "<none>", "SUSPEND": "False"} {
			if got := column(table, "every-minute", header); got != want {
				t.Errorf("%s = %q, want %q\n%s", header, got, want, table)
			}
		}
		if got := column(table, "every-minute", "AGE"); got == "" {
			t.Errorf("AGE empty\n%s", table)
		}

		var children []batchv1.Job
		eventually(t, 30*time.Second, "three scheduled Jobs of every-minute", func() (bool, string) {
			children = s.cronJobChildren(t, "every-minute")
			return len(children) >= 3, strings.Join(jobNames(children), " ")
		})
		var last time.Time
		for _, j := range children {
			stamp := j.Annotations[scheduledTimestampAnnotation]
			ts, err := time.Parse(time.RFC3339, stamp)
			if err != nil || !strings.HasSuffix(stamp, "Z") || ts.Second() != 0 {
				t.Errorf("Job %s: %s = %q, want an RFC 3339 UTC minute", j.Name, scheduledTimestampAnnotation, stamp)
				continue
			}
			if want := fmt.Sprintf("every-minute-%d", ts.Unix()/60); j.Name != want {
				t.Errorf("Job scheduled for %s is named %s, want %s", stamp, j.Name, want)
			}
			if !ts.After(last) {
				t.Errorf("Job %s scheduled at %s, not after the previous one (%s)", j.Name, ts, last)
			}
			last = ts
			ref := j.OwnerReferences[0]
			if ref.APIVersion != "batch/v1" || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
				t.Errorf("Job %s ownerReference = %+v", j.Name, ref)
			}
		}
		// lastScheduleTime is a scheduled time (a whole minute) at or after the newest Job seen.
		lst := s.jsonpath(t, "cronjob/every-minute", "{.status.lastScheduleTime}")
		if ts, err := time.Parse(time.RFC3339, lst); err != nil || ts.Second() != 0 || ts.Before(last) {
			t.Errorf("status.lastScheduleTime = %q, want a whole minute at or after %s", lst, last.Format(time.RFC3339))
		}
		if got := s.eventCount(t, "every-minute", "SuccessfulCreate", "Created job every-minute-"); got < 3 {
			t.Errorf("%d SuccessfulCreate events, want at least 3", got)
		}
		eventually(t, 20*time.Second, "lastSuccessfulTime and SawCompletedJob", func() (bool, string) {
			lst := s.jsonpath(t, "cronjob/every-minute", "{.status.lastSuccessfulTime}")
			saw := s.eventCount(t, "every-minute", "SawCompletedJob", "condition: Complete")
			return lst != "" && saw > 0, fmt.Sprintf("lastSuccessfulTime %q, %d SawCompletedJob events", lst, saw)
		})
		// The schedule clock runs ahead of real time, so LAST SCHEDULE is not a plain age; it is set.
		table = s.mustSystemKubectl(t, "get", "cronjobs", "every-minute")
		if got := column(table, "every-minute", "LAST SCHEDULE"); got == "" || got == "<none>" {
			t.Errorf("LAST SCHEDULE = %q after runs\n%s", got, table)
		}
	})

	t.Run("Forbid skips while a Job is active", func(t *testing.T) {
		t.Parallel()
		s.applyYAML(t, cronJobYAML("forbid", "  concurrencyPolicy: Forbid\n", `["sh", "-c", "sleep 3600"]`))
		var first, firstScheduled string
		eventually(t, 30*time.Second, "the first Job of forbid", func() (bool, string) {
			children := s.cronJobChildren(t, "forbid")
			if len(children) > 0 {
				first, firstScheduled = children[0].Name, children[0].Annotations[scheduledTimestampAnnotation]
			}
			return first != "", ""
		})
		eventually(t, 30*time.Second, "JobAlreadyActive events for later schedule times", func() (bool, string) {
			n := s.eventCount(t, "forbid", "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid")
			return n >= 3, fmt.Sprintf("%d events", n)
		})
		if names := jobNames(s.cronJobChildren(t, "forbid")); len(names) != 1 || names[0] != first {
			t.Errorf("Jobs of forbid = %v, want only %s", names, first)
		}
		if got := s.jsonpath(t, "cronjob/forbid", "{.status.active[*].name}"); got != first {
			t.Errorf("status.active = %q, want %s", got, first)
		}
		// A skipped time does not count as scheduled.
		if got := s.jsonpath(t, "cronjob/forbid", "{.status.lastScheduleTime}"); got != firstScheduled {
			t.Errorf("lastScheduleTime = %q while skipping, want the running Job's %q", got, firstScheduled)
		}
		table := s.mustSystemKubectl(t, "get", "cronjobs", "forbid")
		if got := column(table, "forbid", "ACTIVE"); got != "1" {
			t.Errorf("ACTIVE = %q, want 1\n%s", got, table)
		}
		// Once the running Job is gone the next run starts.
		s.mustSystemKubectl(t, "delete", "job", first)
		eventually(t, 30*time.Second, "a run after "+first+" went", func() (bool, string) {
			names := jobNames(s.cronJobChildren(t, "forbid"))
			return len(names) == 1 && names[0] != first, strings.Join(names, " ")
		})
	})

	t.Run("Replace deletes the active Job", func(t *testing.T) {
		t.Parallel()
		s.applyYAML(t, cronJobYAML("replace", "  concurrencyPolicy: Replace\n", `["sh", "-c", "sleep 3600"]`))
		var first string
		eventually(t, 30*time.Second, "the first Job of replace", func() (bool, string) {
			children := s.cronJobChildren(t, "replace")
			if len(children) > 0 {
				first = children[0].Name
			}
			return first != "", ""
		})
		eventually(t, 30*time.Second, first+" replaced by a later Job", func() (bool, string) {
			names := jobNames(s.cronJobChildren(t, "replace"))
			active := s.jsonpath(t, "cronjob/replace", "{.status.active[*].name}")
			gone := true
			for _, n := range names {
				gone = gone && n != first
			}
			return gone && active != "" && active != first && !strings.Contains(active, " "), fmt.Sprintf("jobs %v, active %q", names, active)
		})
		if got := s.eventCount(t, "replace", "SuccessfulDelete", "Deleted job "+first); got < 1 {
			t.Errorf("no SuccessfulDelete event for %s", first)
		}
		eventually(t, 30*time.Second, "the pods of "+first+" gone", func() (bool, string) {
			out, _, err := s.Kubectl(t, "get", "pods", "-l", "job-name="+first, "--no-headers")
			return err == nil && strings.TrimSpace(out) == "", out
		})
	})

	t.Run("successfulJobsHistoryLimit keeps two", func(t *testing.T) {
		t.Parallel()
		s.applyYAML(t, cronJobYAML("history", "  successfulJobsHistoryLimit: 2\n", `["sh", "-c", "date"]`))
		maxFinished := 0
		finished := func() (int, []string) {
			n := 0
			children := s.cronJobChildren(t, "history")
			for _, j := range children {
				if _, ok := jobFinished(j); ok {
					n++
				}
			}
			maxFinished = max(maxFinished, n)
			return n, jobNames(children)
		}
		eventually(t, 40*time.Second, "six runs of history", func() (bool, string) {
			n, names := finished()
			created := s.eventCount(t, "history", "SuccessfulCreate", "Created job history-")
			return created >= 6, fmt.Sprintf("%d created, %d finished kept: %v", created, n, names)
		})
		s.mustSystemKubectl(t, "patch", "cronjob", "history", "-p", `{"spec":{"suspend":true}}`)
		eventually(t, 30*time.Second, "exactly two finished Jobs kept", func() (bool, string) {
			n, names := finished()
			return n == 2 && len(names) == 2, fmt.Sprintf("%d finished: %v", n, names)
		})
		if got := s.eventCount(t, "history", "SuccessfulDelete", "Deleted job history-"); got < 3 {
			t.Errorf("%d SuccessfulDelete events for pruned Jobs, want at least 3", got)
		}
		// Pruning follows each finish; a third finished Job may be seen for a moment only.
		if maxFinished > 3 {
			t.Errorf("saw %d finished Jobs kept at once, want at most 2 (3 transiently)", maxFinished)
		}
	})

	t.Run("suspend stops new runs", func(t *testing.T) {
		t.Parallel()
		s.applyYAML(t, cronJobYAML("pausable", "  successfulJobsHistoryLimit: 100\n", `["sh", "-c", "date"]`))
		eventually(t, 30*time.Second, "a Job of pausable", func() (bool, string) {
			return len(s.cronJobChildren(t, "pausable")) > 0, ""
		})
		s.mustSystemKubectl(t, "patch", "cronjob", "pausable", "-p", `{"spec":{"suspend":true}}`)
		suspendedAt := time.Now().Truncate(time.Second)
		table := s.mustSystemKubectl(t, "get", "cronjobs", "pausable")
		if got := column(table, "pausable", "SUSPEND"); got != "True" {
			t.Errorf("SUSPEND = %q, want True\n%s", got, table)
		}
		before := len(s.cronJobChildren(t, "pausable"))
		// Five schedule times pass; a sync already under way at the patch may still create
		// one Job (on a busy machine up to two seconds later), but nothing after that.
		consistently(t, 5*time.Second, "no runs while suspended", func() (bool, string) {
			children := s.cronJobChildren(t, "pausable")
			for _, j := range children {
				if j.CreationTimestamp.Time.After(suspendedAt.Add(2 * time.Second)) {
					return false, fmt.Sprintf("Job %s created at %s, suspended at %s", j.Name, j.CreationTimestamp.Time, suspendedAt)
				}
			}
			return len(children) <= before+1, strings.Join(jobNames(children), " ")
		})
		suspended := len(s.cronJobChildren(t, "pausable"))
		s.mustSystemKubectl(t, "patch", "cronjob", "pausable", "-p", `{"spec":{"suspend":false}}`)
		eventually(t, 30*time.Second, "runs again after resuming", func() (bool, string) {
			n := len(s.cronJobChildren(t, "pausable"))
			return n > suspended, fmt.Sprintf("%d Jobs (%d while suspended)", n, suspended)
		})
	})

	t.Run("resuming runs only the latest missed time", func(t *testing.T) {
		t.Parallel()
		s.applyYAML(t, cronJobYAML("catch-up", "  suspend: true\n", `["sh", "-c", "date"]`))
		created, err := time.Parse(time.RFC3339, s.jsonpath(t, "cronjob/catch-up", "{.metadata.creationTimestamp}"))
		if err != nil {
			t.Fatalf("creationTimestamp: %v", err)
		}
		// Three real seconds are three schedule times missed while suspended.
		consistently(t, 3*time.Second, "no runs of a CronJob created suspended", func() (bool, string) {
			names := jobNames(s.cronJobChildren(t, "catch-up"))
			return len(names) == 0, strings.Join(names, " ")
		})
		s.mustSystemKubectl(t, "patch", "cronjob", "catch-up", "-p", `{"spec":{"suspend":false}}`)
		var children []batchv1.Job
		eventually(t, 20*time.Second, "a run after resuming", func() (bool, string) {
			children = s.cronJobChildren(t, "catch-up")
			return len(children) > 0, ""
		})
		stamp := children[0].Annotations[scheduledTimestampAnnotation]
		first, err := time.Parse(time.RFC3339, stamp)
		if err != nil {
			t.Fatalf("scheduled timestamp %q: %v", stamp, err)
		}
		if first.Sub(created) < 2*time.Minute {
			t.Errorf("first run after resuming is for %s, created %s: an older missed time was run instead of the latest", stamp, created.Format(time.RFC3339))
		}
	})

	t.Run("timeZone", func(t *testing.T) {
		t.Parallel()
		s.applyYAML(t, cronJobYAML("tokyo", "  timeZone: Asia/Tokyo\n", `["sh", "-c", "date"]`))
		table := s.mustSystemKubectl(t, "get", "cronjobs", "tokyo")
		if got := column(table, "tokyo", "TIMEZONE"); got != "Asia/Tokyo" {
			t.Errorf("TIMEZONE = %q, want Asia/Tokyo\n%s", got, table)
		}
		var children []batchv1.Job
		eventually(t, 30*time.Second, "a Job of tokyo", func() (bool, string) {
			children = s.cronJobChildren(t, "tokyo")
			return len(children) > 0, ""
		})
		stamp := children[0].Annotations[scheduledTimestampAnnotation]
		ts, err := time.Parse(time.RFC3339, stamp)
		if err != nil || !strings.HasSuffix(stamp, "+09:00") {
			t.Fatalf("%s = %q, want RFC 3339 in +09:00", scheduledTimestampAnnotation, stamp)
		}
		if want := fmt.Sprintf("tokyo-%d", ts.Unix()/60); children[0].Name != want {
			t.Errorf("Job scheduled for %s is named %s, want %s", stamp, children[0].Name, want)
		}
	})

	t.Run("failedJobsHistoryLimit keeps one", func(t *testing.T) {
		t.Parallel()
		s.applyYAML(t, strings.Replace(cronJobYAML("failing", "", `["sh", "-c", "exit 1"]`), "    spec:\n      template:", "    spec:\n      backoffLimit: 0\n      template:", 1))
		eventually(t, 40*time.Second, "four runs of failing", func() (bool, string) {
			created := s.eventCount(t, "failing", "SuccessfulCreate", "Created job failing-")
			return created >= 4, fmt.Sprintf("%d created", created)
		})
		s.mustSystemKubectl(t, "patch", "cronjob", "failing", "-p", `{"spec":{"suspend":true}}`)
		eventually(t, 30*time.Second, "exactly one failed Job kept", func() (bool, string) {
			children := s.cronJobChildren(t, "failing")
			failed := 0
			for _, j := range children {
				if c, ok := jobFinished(j); ok && c == batchv1.JobFailed {
					failed++
				}
			}
			return failed == 1 && len(children) == 1, strings.Join(jobNames(children), " ")
		})
	})

	t.Run("deleting the CronJob removes its Jobs and their pods", func(t *testing.T) {
		t.Parallel()
		s.applyYAML(t, cronJobYAML("doomed", "", `["sh", "-c", "sleep 4721"]`))
		eventually(t, 30*time.Second, "two running Jobs of doomed", func() (bool, string) {
			names := jobNames(s.cronJobChildren(t, "doomed"))
			return len(names) >= 2, strings.Join(names, " ")
		})
		// A manual run is a dependent too (ownerReference without controller).
		s.mustSystemKubectl(t, "create", "job", "doomed-manual", "--from=cronjob/doomed")
		eventually(t, 20*time.Second, "sleep 4721 processes", func() (bool, string) {
			return len(sleepProcesses(4721)) >= 3, fmt.Sprint(sleepProcesses(4721))
		})
		s.mustSystemKubectl(t, "delete", "cronjob", "doomed")
		eventually(t, 30*time.Second, "no Jobs or pods of doomed", func() (bool, string) {
			var left []string
			for _, j := range s.jobs(t) {
				if strings.HasPrefix(j.Name, "doomed-") {
					left = append(left, "job/"+j.Name)
				}
			}
			for _, p := range s.pods(t, "") {
				if strings.HasPrefix(p.Name, "doomed-") {
					left = append(left, "pod/"+p.Name)
				}
			}
			return len(left) == 0, strings.Join(left, " ")
		})
		waitNoSleepProcesses(t, 15*time.Second, 4721)
	})

	t.Run("create job --from=cronjob", func(t *testing.T) {
		t.Parallel()
		s.applyYAML(t, cronJobYAML("template", "  suspend: true\n", `["sh", "-c", "echo manual"]`))
		out := s.mustSystemKubectl(t, "create", "job", "manual-run", "--from=cronjob/template")
		if strings.TrimSpace(out) != "job.batch/manual-run created" {
			t.Errorf("create job printed %q", out)
		}
		if got := s.jsonpath(t, "job/manual-run", `{.metadata.annotations.cronjob\.kubernetes\.io/instantiate}`); got != "manual" {
			t.Errorf("instantiate annotation = %q, want manual", got)
		}
		if got := s.jsonpath(t, "job/manual-run", "{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}"); got != "CronJob/template" {
			t.Errorf("ownerReference = %q, want CronJob/template", got)
		}
		if _, stderr, err := s.SystemKubectl(t, "wait", "--for=condition=complete", "--timeout=40s", "job/manual-run"); err != nil {
			t.Fatalf("kubectl wait: %v\n%s", err, stderr)
		}
		if logs := s.mustSystemKubectl(t, "logs", "job/manual-run"); logs != "manual\n" {
			t.Errorf("logs = %q, want \"manual\\n\"", logs)
		}
		if got := s.jsonpath(t, "cronjob/template", "{.status.lastScheduleTime}"); got != "" {
			t.Errorf("a manual run set lastScheduleTime %q", got)
		}
	})

	t.Run("kubectl create cronjob", func(t *testing.T) {
		t.Parallel()
		out := s.mustSystemKubectl(t, "create", "cronjob", "hi", "--image=busybox", "--schedule=*/1 * * * *", "--", "sh", "-c", "echo hi")
		if strings.TrimSpace(out) != "cronjob.batch/hi created" {
			t.Errorf("create cronjob printed %q", out)
		}
		if got := s.jsonpath(t, "cronjob/hi", "{.spec.jobTemplate.spec.template.spec.restartPolicy}"); got != "OnFailure" {
			t.Errorf("restartPolicy = %q, want OnFailure", got)
		}
		var done string
		eventually(t, 30*time.Second, "a completed Job of hi", func() (bool, string) {
			children := s.cronJobChildren(t, "hi")
			for _, j := range children {
				if c, ok := jobFinished(j); ok && c == batchv1.JobComplete {
					done = j.Name
					return true, ""
				}
			}
			return false, strings.Join(jobNames(children), " ")
		})
		if logs, _, err := s.SystemKubectl(t, "logs", "job/"+done); err != nil || logs != "hi\n" {
			t.Errorf("logs of %s = %q (%v), want \"hi\\n\"", done, logs, err)
		}
	})

	t.Run("bad schedule rejected", func(t *testing.T) {
		t.Parallel()
		manifest := writeFile(t, "cronjob-bad-schedule.yaml", strings.Replace(cronJobYAML("bad-schedule", "", `["sh", "-c", "echo hi"]`), `"*/1 * * * *"`, `"not a cron"`, 1))
		_, stderr, err := s.SystemKubectl(t, "apply", "-f", manifest)
		want := `The CronJob "bad-schedule" is invalid: spec.schedule: Invalid value: "not a cron": expected exactly 5 fields, found 3: [not a cron]`
		if err == nil || strings.TrimSpace(stderr) != want {
			t.Errorf("apply bad schedule: err %v, stderr %q\nwant %q", err, stderr, want)
		}
		_, stderr, err = s.SystemKubectl(t, "create", "cronjob", "bad2", "--image=busybox", "--schedule=61 * * * *")
		want = `error: failed to create cronjob: CronJob.batch "bad2" is invalid: spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61`
		if err == nil || strings.TrimSpace(stderr) != want {
			t.Errorf("create bad schedule: err %v, stderr %q\nwant %q", err, stderr, want)
		}
	})

	t.Run("seed example misspelt field", func(t *testing.T) {
		t.Parallel()
		_, stderr, err := s.SystemKubectl(t, "apply", "-f", filepath.Join(repoRoot, "examples", "cronjob-every-fifteen-minutes.yaml"))
		if err == nil || !strings.Contains(stderr, `strict decoding error: unknown field "spec.startingDeadlineSenconds"`) {
			t.Errorf("apply of the misspelt seed: err %v, stderr %q", err, stderr)
		}
		out := s.mustSystemKubectl(t, "apply", "-f", filepath.Join(repoRoot, "examples", "cronjob-every-fifteen-minutes-fixed.yaml"))
		if strings.TrimSpace(out) != "cronjob.batch/batch-job-every-fifteen-minutes created" {
			t.Errorf("apply of the fixed seed printed %q", out)
		}
		if got := s.jsonpath(t, "cronjob/batch-job-every-fifteen-minutes", "{.spec.startingDeadlineSeconds}"); got != "15" {
			t.Errorf("startingDeadlineSeconds = %q, want 15", got)
		}
	})
}
