package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestReadManifests(t *testing.T) {
	cases := []struct {
		name    string
		input   string
		kinds   []string
		wantErr string
	}{
		{name: "one job", input: "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: pi\n", kinds: []string{"Job"}},
		{name: "several documents and empty ones", input: "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n---\n---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\n", kinds: []string{"ConfigMap", "Job"}},
		{name: "json list", input: `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"}}]}`, kinds: []string{"Pod"}},
		{name: "missing kind", input: "apiVersion: v1\nmetadata:\n  name: x\n", wantErr: "apiVersion and kind must be set"},
		{name: "empty", input: "", wantErr: "holds no manifest"},
		{name: "not yaml", input: "apiVersion: [\n", wantErr: "error parsing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.yaml")
			if err := os.WriteFile(path, []byte(tc.input), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := readManifests(path, nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, m := range got {
				kinds = append(kinds, m.obj.GetKind())
			}
			if strings.Join(kinds, ",") != strings.Join(tc.kinds, ",") {
				t.Fatalf("kinds = %v, want %v", kinds, tc.kinds)
			}
		})
	}
}

func TestInvalidMessage(t *testing.T) {
	one := metav1.Status{Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{
		{Field: "spec.template.spec.restartPolicy", Message: `Required value: valid values: "OnFailure", "Never"`},
	}}}
	two := metav1.Status{Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{
		{Field: "spec.parallelism", Message: "Invalid value: -1: must be greater than or equal to 0"},
		{Field: "spec.completions", Message: "Invalid value: -1: must be greater than or equal to 0"},
	}}}
	cases := []struct {
		name   string
		status metav1.Status
		want   string
	}{
		{"one cause", one, `The Job "pi" is invalid: spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`},
		{"two causes", two, "The Job \"pi\" is invalid: \n* spec.parallelism: Invalid value: -1: must be greater than or equal to 0\n* spec.completions: Invalid value: -1: must be greater than or equal to 0"},
		{"no causes", metav1.Status{Message: "boom"}, "boom"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := invalidMessage("Job", "pi", tc.status); got != tc.want {
				t.Fatalf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestPlainProgressAndSummary(t *testing.T) {
	start := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	now := start.Add(90 * time.Second)
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "abnormal-end"},
		Spec:       batchv1.JobSpec{Completions: ptr.To[int32](1), BackoffLimit: ptr.To[int32](2), CompletionMode: ptr.To(batchv1.IndexedCompletion)},
		Status: batchv1.JobStatus{
			StartTime: &start, Failed: 3, Ready: ptr.To[int32](0),
			Conditions: []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"}},
		},
	}
	failedPod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "abnormal-end-0-abcde"},
		Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{
			{Name: "busybox-1", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}},
			{Name: "busybox-2", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}}},
		}},
	}
	views := []jobView{{target: target{kind: "Job", name: "abnormal-end"}, job: job, pods: []*corev1.Pod{failedPod}}}

	var out bytes.Buffer
	d := newDisplay(&out, false, false)
	d.update(views, nil, now)
	d.update(views, nil, now.Add(time.Second)) // only elapsed changed: nothing printed
	d.log(logLine{pod: "abnormal-end-0-abcde", container: "busybox-1", attempt: 1, multi: true, text: "hello"})
	d.summary(views, nil, now)
	want := "job/abnormal-end: Failed, active 0, ready 0, succeeded 0/1, failed 3/2, indexes done none, elapsed 90s\n" +
		"abnormal-end-0-abcde/busybox-1 #1 | hello\n" +
		"job/abnormal-end Failed (BackoffLimitExceeded: Job has reached the specified backoff limit): succeeded 0/1, failed 3, took 1m30s\n" +
		"  pod/abnormal-end-0-abcde busybox-1 exit code 1 (Error)\n"
	if out.String() != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	if strings.Contains(out.String(), "\x1b") {
		t.Fatal("plain mode wrote an escape code")
	}
}

func TestTerminalProgressRedrawsInPlace(t *testing.T) {
	var out bytes.Buffer
	d := newDisplay(&out, true, false)
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "pi"}}
	views := []jobView{{target: target{kind: "Job", name: "pi"}, job: job}}
	d.update(views, nil, time.Now())
	d.update(views, nil, time.Now())
	if !strings.Contains(out.String(), "\x1b[1A\r\x1b[J") {
		t.Fatalf("second update did not move the cursor up over the first: %q", out.String())
	}
}
