package cronjob

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

func load(t *testing.T, name string) *batchv1.CronJob {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	cj := &batchv1.CronJob{}
	if err := yaml.UnmarshalStrict(data, cj); err != nil {
		t.Fatal(err)
	}
	cj.Namespace = "cron"
	cj.UID = "1f57e3bf-2ce0-4b81-993f-b4920d483736"
	return cj
}

func errorStrings(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

// observedSpec is what Kubernetes 1.34 stored for cronjob.yaml (observed/09-get-cronjobs.txt).
const observedSpec = `
concurrencyPolicy: Allow
failedJobsHistoryLimit: 1
jobTemplate:
  metadata: {}
  spec:
    template:
      metadata: {}
      spec:
        containers:
        - command:
          - sh
          - -c
          - date
          image: busybox
          imagePullPolicy: Always
          name: worker
          resources: {}
          terminationMessagePath: /dev/termination-log
          terminationMessagePolicy: File
        dnsPolicy: ClusterFirst
        restartPolicy: Never
        schedulerName: default-scheduler
        securityContext: {}
        terminationGracePeriodSeconds: 30
schedule: '*/1 * * * *'
successfulJobsHistoryLimit: 3
suspend: false
`

func TestCreateMatchesKubernetes(t *testing.T) {
	cj := load(t, "cronjob.yaml")
	cj.Status.LastScheduleTime = &metav1.Time{}
	Strategy{}.PrepareForCreate(context.Background(), cj)
	if errs := (Strategy{}).Validate(context.Background(), cj); len(errs) != 0 {
		t.Fatal(errs)
	}
	if cj.Status.LastScheduleTime != nil {
		t.Error("status not cleared")
	}
	got, err := yaml.Marshal(cj.Spec)
	if err != nil {
		t.Fatal(err)
	}
	var gotMap, wantMap map[string]interface{}
	if err := yaml.Unmarshal(got, &gotMap); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(observedSpec), &wantMap); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotMap, wantMap) {
		t.Errorf("spec differs.\ngot:\n%s\nwant:%s", got, observedSpec)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*batchv1.CronJob)
		want   []string
	}{
		{"valid", func(*batchv1.CronJob) {}, nil},
		{"not a cron", func(c *batchv1.CronJob) { c.Spec.Schedule = "not a cron" },
			[]string{`spec.schedule: Invalid value: "not a cron": expected exactly 5 fields, found 3: [not a cron]`}},
		{"minute 61", func(c *batchv1.CronJob) { c.Spec.Schedule = "61 * * * *" },
			[]string{`spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61`}},
		{"four fields", func(c *batchv1.CronJob) { c.Spec.Schedule = "* * * *" },
			[]string{`spec.schedule: Invalid value: "* * * *": expected exactly 5 fields, found 4: [* * * *]`}},
		{"day of week 7", func(c *batchv1.CronJob) { c.Spec.Schedule = "0 0 * * 7" },
			[]string{`spec.schedule: Invalid value: "0 0 * * 7": end of range (7) above maximum (6): 7`}},
		{"every 5m", func(c *batchv1.CronJob) { c.Spec.Schedule = "@every 5m" }, nil},
		{"hourly", func(c *batchv1.CronJob) { c.Spec.Schedule = "@hourly" }, nil},
		{"every 5x", func(c *batchv1.CronJob) { c.Spec.Schedule = "@every 5x" },
			[]string{`spec.schedule: Invalid value: "@every 5x": failed to parse duration @every 5x: time: unknown unit "x" in duration "5x"`}},
		{"unknown descriptor", func(c *batchv1.CronJob) { c.Spec.Schedule = "@foo" },
			[]string{`spec.schedule: Invalid value: "@foo": unrecognized descriptor: @foo`}},
		{"TZ in schedule", func(c *batchv1.CronJob) { c.Spec.Schedule = "TZ=Europe/Berlin */1 * * * *" },
			[]string{`spec.schedule: Invalid value: "TZ=Europe/Berlin */1 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead`}},
		{"empty schedule", func(c *batchv1.CronJob) { c.Spec.Schedule = "" }, []string{"spec.schedule: Required value"}},
		{"good time zone", func(c *batchv1.CronJob) { c.Spec.TimeZone = ptr.To("Asia/Tokyo") }, nil},
		{"bad time zone", func(c *batchv1.CronJob) { c.Spec.TimeZone = ptr.To("bad-time-zone") },
			[]string{`spec.timeZone: Invalid value: "bad-time-zone": unknown time zone bad-time-zone`}},
		{"Local time zone", func(c *batchv1.CronJob) { c.Spec.TimeZone = ptr.To("Local") },
			[]string{`spec.timeZone: Invalid value: "Local": timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones`}},
		{"concurrency policy", func(c *batchv1.CronJob) { c.Spec.ConcurrencyPolicy = "X" },
			[]string{`spec.concurrencyPolicy: Unsupported value: "X": supported values: "Allow", "Forbid", "Replace"`}},
		{"negative history", func(c *batchv1.CronJob) { c.Spec.FailedJobsHistoryLimit = ptr.To[int32](-1) },
			[]string{"spec.failedJobsHistoryLimit: Invalid value: -1: must be greater than or equal to 0"}},
		{"selector in template", func(c *batchv1.CronJob) {
			c.Spec.JobTemplate.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}
		}, []string{`spec.jobTemplate.spec.selector: Invalid value: {"matchLabels":{"a":"b"}}: ` + "`selector` will be auto-generated"}},
		{"manual selector in template", func(c *batchv1.CronJob) { c.Spec.JobTemplate.Spec.ManualSelector = ptr.To(true) },
			[]string{`spec.jobTemplate.spec.manualSelector: Unsupported value: true: supported values: "nil", "false"`}},
		{"restart Always in template", func(c *batchv1.CronJob) { c.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy = "" },
			[]string{`spec.jobTemplate.spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`}},
		{"name too long", func(c *batchv1.CronJob) { c.Name = strings.Repeat("a", 53) },
			[]string{`metadata.name: Invalid value: "` + strings.Repeat("a", 53) + `": must be no more than 52 characters`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cj := load(t, "cronjob.yaml")
			tt.mutate(cj)
			Strategy{}.PrepareForCreate(context.Background(), cj)
			got := errorStrings(Strategy{}.Validate(context.Background(), cj))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestScenarioBadSchedule(t *testing.T) {
	cj := load(t, "cronjob-bad-schedule.yaml")
	Strategy{}.PrepareForCreate(context.Background(), cj)
	got := errorStrings(Strategy{}.Validate(context.Background(), cj))
	want := []string{`spec.schedule: Invalid value: "not a cron": expected exactly 5 fields, found 3: [not a cron]`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors %q, want %q", got, want)
	}
}

func TestValidateUpdate(t *testing.T) {
	tests := []struct {
		name        string
		oldSchedule string
		mutate      func(*batchv1.CronJob)
		want        []string
	}{
		{"schedule mutable", "*/1 * * * *", func(c *batchv1.CronJob) { c.Spec.Schedule = "@hourly"; c.Spec.Suspend = ptr.To(true) }, nil},
		{"old TZ kept", "TZ=UTC 0 * * * *", func(c *batchv1.CronJob) { c.Spec.Suspend = ptr.To(true) }, nil},
		{"old TZ with timeZone", "TZ=UTC 0 * * * *", func(c *batchv1.CronJob) { c.Spec.TimeZone = ptr.To("UTC") },
			[]string{`spec.schedule: Invalid value: "TZ=UTC 0 * * * *": cannot use both timeZone field and TZ or CRON_TZ in schedule`}},
		{"long name still updatable", "*/1 * * * *", func(c *batchv1.CronJob) { c.Labels = map[string]string{"a": "b"} }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := load(t, "cronjob.yaml")
			old.Name = strings.Repeat("b", 60)
			old.ResourceVersion = "5"
			Strategy{}.PrepareForCreate(context.Background(), old)
			old.Spec.Schedule = tt.oldSchedule
			old.Status.Active = nil
			now := metav1.Now()
			old.Status.LastScheduleTime = &now
			cj := old.DeepCopy()
			cj.Status = batchv1.CronJobStatus{}
			tt.mutate(cj)
			Strategy{}.PrepareForUpdate(context.Background(), cj, old)
			if cj.Status.LastScheduleTime == nil {
				t.Error("status not kept")
			}
			got := errorStrings(Strategy{}.ValidateUpdate(context.Background(), cj, old))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestStatusStrategy(t *testing.T) {
	old := load(t, "cronjob.yaml")
	Strategy{}.PrepareForCreate(context.Background(), old)
	cj := old.DeepCopy()
	cj.Spec.Schedule = "@daily"
	now := metav1.Now()
	cj.Status.LastScheduleTime = &now
	StatusStrategy{}.PrepareForUpdate(context.Background(), cj, old)
	if cj.Spec.Schedule != "*/1 * * * *" || cj.Status.LastScheduleTime == nil {
		t.Fatalf("schedule %q lastScheduleTime %v", cj.Spec.Schedule, cj.Status.LastScheduleTime)
	}
}

func TestTableCells(t *testing.T) {
	now := time.Date(2026, 11, 22, 8, 46, 31, 0, time.UTC)
	tests := []struct {
		name   string
		mutate func(*batchv1.CronJob)
		want   []interface{}
	}{
		{"fresh", func(*batchv1.CronJob) {},
			[]interface{}{"every-minute", "*/1 * * * *", "<none>", "False", int64(0), "<none>", "60s", "worker", "busybox", "<none>"}},
		{"scheduled", func(c *batchv1.CronJob) {
			last := metav1.NewTime(now.Add(-31 * time.Second))
			c.Status.LastScheduleTime = &last
			c.Status.Active = make([]corev1.ObjectReference, 1)
			c.Spec.TimeZone = ptr.To("Asia/Tokyo")
			c.Spec.Suspend = ptr.To(true)
		}, []interface{}{"every-minute", "*/1 * * * *", "Asia/Tokyo", "True", int64(1), "31s", "60s", "worker", "busybox", "<none>"}},
		{"suspend unset", func(c *batchv1.CronJob) { c.Spec.Suspend = nil },
			[]interface{}{"every-minute", "*/1 * * * *", "<none>", "<unset>", int64(0), "<none>", "60s", "worker", "busybox", "<none>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cj := load(t, "cronjob.yaml")
			Strategy{}.PrepareForCreate(context.Background(), cj)
			cj.CreationTimestamp = metav1.NewTime(now.Add(-time.Minute))
			tt.mutate(cj)
			got, err := Table{}.Cells(cj, now)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("cells %v, want %v", got, tt.want)
			}
			if len(got) != len(Table{}.Columns()) {
				t.Error("cells and columns differ in number")
			}
		})
	}
}
