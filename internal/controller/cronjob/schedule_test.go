package cronjob

import (
	"errors"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("loading %s: %v", name, err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseScheduleErrors(t *testing.T) {
	tests := []struct {
		name, schedule, wantErr string
	}{
		{"four fields", "* * * *", "expected exactly 5 fields, found 4: [* * * *]"},
		{"minute 60", "60 * * * *", "end of range (60) above maximum (59): 60"},
		{"day of month 0", "0 0 0 * *", "beginning of range (0) below minimum (1): 0"},
		{"reversed range", "5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"},
		{"day of week 7 is invalid", "0 0 * * 7", "end of range (7) above maximum (6): 7"},
		{"not a number", "x * * * *", `failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax`},
		{"unknown descriptor", "@foo", "unrecognized descriptor: @foo"},
		{"empty", "", "empty spec string"},
		{"ok names", "0 0 * jan-mar MON-fri", ""},
		{"ok question mark", "0 0 ? * *", ""},
		{"ok every", "@every 1h30m", ""},
		{"ok annually", "@annually", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cj := &batchv1.CronJob{Spec: batchv1.CronJobSpec{Schedule: tt.schedule}}
			_, err := parseSchedule(cj, time.UTC)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.wantErr {
				t.Errorf("parseSchedule(%q) error = %q, want %q", tt.schedule, got, tt.wantErr)
			}
		})
	}
}

// TestScheduleNext checks the sequence of times a schedule produces, in its zone.
func TestScheduleNext(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	tests := []struct {
		name     string
		schedule string
		timeZone *string
		local    *time.Location
		from     time.Time
		want     []string // RFC3339 in the schedule's zone
	}{
		{
			name: "hourly", schedule: "@hourly", local: time.UTC,
			from: utc("2026-11-22T08:45:31Z"),
			want: []string{"2026-11-22T09:00:00Z", "2026-11-22T10:00:00Z"},
		},
		{
			name: "daily", schedule: "@daily", local: time.UTC,
			from: utc("2026-11-22T08:45:31Z"),
			want: []string{"2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z"},
		},
		{
			name: "weekly is Sunday midnight", schedule: "@weekly", local: time.UTC,
			from: utc("2026-11-22T08:45:31Z"), // a Sunday
			want: []string{"2026-11-29T00:00:00Z"},
		},
		{
			// Both day fields restricted: a day matching either runs (the 13th OR Fridays).
			name: "day-of-month OR day-of-week", schedule: "0 0 13 * 5", local: time.UTC,
			from: utc("2026-11-01T00:00:00Z"),
			want: []string{"2026-11-06T00:00:00Z", "2026-11-13T00:00:00Z", "2026-11-20T00:00:00Z", "2026-11-27T00:00:00Z", "2026-12-04T00:00:00Z", "2026-12-11T00:00:00Z", "2026-12-13T00:00:00Z"},
		},
		{
			name: "day-of-month only when day-of-week is star", schedule: "0 0 13 * *", local: time.UTC,
			from: utc("2026-11-01T00:00:00Z"),
			want: []string{"2026-11-13T00:00:00Z", "2026-12-13T00:00:00Z"},
		},
		{
			name: "day-of-week only when day-of-month is star", schedule: "0 0 * * 5", local: time.UTC,
			from: utc("2026-11-01T00:00:00Z"),
			want: []string{"2026-11-06T00:00:00Z", "2026-11-13T00:00:00Z"},
		},
		{
			name: "time zone field", schedule: "0 9 * * *", timeZone: ptr.To("Asia/Tokyo"), local: time.UTC,
			from: utc("2026-11-22T00:00:00Z"), // 09:00 Tokyo exactly: next is tomorrow
			want: []string{"2026-11-23T09:00:00+09:00"},
		},
		{
			name: "controller local zone when timeZone unset", schedule: "0 9 * * *", local: mustLoad(t, "Asia/Tokyo"),
			from: utc("2026-11-22T01:00:00Z"),
			want: []string{"2026-11-23T09:00:00+09:00"},
		},
		{
			// 02:30 does not exist on 2026-03-08 in New York (02:00 -> 03:00): that day is skipped.
			name: "DST spring forward skips the missing time", schedule: "30 2 * * *", timeZone: ptr.To("America/New_York"), local: time.UTC,
			from: time.Date(2026, 3, 7, 12, 0, 0, 0, ny),
			want: []string{"2026-03-09T02:30:00-04:00", "2026-03-10T02:30:00-04:00"},
		},
		{
			// 01:30 happens twice on 2026-11-01 in New York; robfig/cron (and so
			// Kubernetes) runs both, and they get different Job names.
			name: "DST fall back runs the repeated time twice", schedule: "30 1 * * *", timeZone: ptr.To("America/New_York"), local: time.UTC,
			from: time.Date(2026, 10, 31, 12, 0, 0, 0, ny),
			want: []string{"2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00", "2026-11-02T01:30:00-05:00"},
		},
		{
			name: "every counts from the time given", schedule: "@every 90s", local: time.UTC,
			from: utc("2026-11-22T08:45:31Z"),
			want: []string{"2026-11-22T08:47:01Z", "2026-11-22T08:48:31Z"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cj := &batchv1.CronJob{Spec: batchv1.CronJobSpec{Schedule: tt.schedule, TimeZone: tt.timeZone}}
			s, err := parseSchedule(cj, tt.local)
			if err != nil {
				t.Fatalf("parseSchedule: %v", err)
			}
			at := tt.from
			for i, w := range tt.want {
				at = s.Next(at)
				if got := at.Format(time.RFC3339); got != w {
					t.Fatalf("time %d = %s, want %s", i, got, w)
				}
			}
		})
	}
}

func TestMostRecentScheduleTime(t *testing.T) {
	created := utc("2026-11-22T08:45:31Z")
	tests := []struct {
		name         string
		schedule     string
		last         *time.Time
		deadline     *int64
		now          time.Time
		withDeadline bool
		want         *time.Time
		wantMissed   missed
		wantErr      error
	}{
		{name: "before the first time", schedule: "*/1 * * * *", now: utc("2026-11-22T08:45:59Z"), wantMissed: noneMissed},
		{name: "first time", schedule: "*/1 * * * *", now: utc("2026-11-22T08:46:00.1Z"), want: ptr.To(utc("2026-11-22T08:46:00Z"))},
		{name: "after last schedule", schedule: "*/1 * * * *", last: ptr.To(utc("2026-11-22T08:46:00Z")), now: utc("2026-11-22T08:46:30Z")},
		{
			name: "a few missed: only the latest", schedule: "@hourly", last: ptr.To(utc("2026-11-22T05:00:00Z")),
			now: utc("2026-11-22T08:30:00Z"), want: ptr.To(utc("2026-11-22T08:00:00Z")), wantMissed: fewMissed,
		},
		{
			name: "more than 100 missed still gives the latest", schedule: "*/1 * * * *", last: ptr.To(utc("2026-11-22T05:00:00Z")),
			now: utc("2026-11-22T08:30:10Z"), want: ptr.To(utc("2026-11-22T08:30:00Z")), wantMissed: manyMissed,
		},
		{
			name: "exactly 100 missed is not many", schedule: "*/1 * * * *", last: ptr.To(utc("2026-11-22T05:00:00Z")),
			now: utc("2026-11-22T06:40:00Z"), want: ptr.To(utc("2026-11-22T06:40:00Z")), wantMissed: fewMissed,
		},
		{
			name: "years missed", schedule: "@hourly", last: ptr.To(utc("2020-01-01T00:00:00Z")),
			now: utc("2026-11-22T08:30:00Z"), want: ptr.To(utc("2026-11-22T08:00:00Z")), wantMissed: manyMissed,
		},
		{
			name: "starting deadline narrows the window", schedule: "*/1 * * * *", last: ptr.To(utc("2026-11-22T05:00:00Z")),
			deadline: ptr.To[int64](200), withDeadline: true,
			now: utc("2026-11-22T08:30:10Z"), want: ptr.To(utc("2026-11-22T08:30:00Z")), wantMissed: fewMissed,
		},
		{
			name: "starting deadline excludes the only missed time", schedule: "@hourly", last: ptr.To(utc("2026-11-22T07:00:00Z")),
			deadline: ptr.To[int64](60), withDeadline: true,
			now: utc("2026-11-22T08:30:00Z"),
		},
		{
			name: "every from last schedule", schedule: "@every 90s", last: ptr.To(utc("2026-11-22T08:00:00Z")),
			now: utc("2026-11-22T08:03:20Z"), want: ptr.To(utc("2026-11-22T08:03:00Z")), wantMissed: fewMissed,
		},
		{name: "never fires", schedule: "0 0 31 2 *", now: utc("2026-11-22T08:30:00Z"), wantErr: errScheduleNeverFires},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cj := &batchv1.CronJob{
				ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(created)},
				Spec:       batchv1.CronJobSpec{Schedule: tt.schedule, StartingDeadlineSeconds: tt.deadline},
			}
			if tt.last != nil {
				cj.Status.LastScheduleTime = &metav1.Time{Time: *tt.last}
			}
			s, err := parseSchedule(cj, time.UTC)
			if err != nil {
				t.Fatalf("parseSchedule: %v", err)
			}
			_, got, m, err := mostRecentScheduleTime(cj, tt.now, s, tt.withDeadline)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			switch {
			case got == nil && tt.want != nil, got != nil && tt.want == nil:
				t.Fatalf("most recent = %v, want %v", got, tt.want)
			case got != nil && !got.Equal(*tt.want):
				t.Fatalf("most recent = %v, want %v", got, tt.want)
			}
			if m != tt.wantMissed {
				t.Errorf("missed = %d, want %d", m, tt.wantMissed)
			}
		})
	}
}

func TestNextScheduleTimeDuration(t *testing.T) {
	tests := []struct {
		name     string
		schedule string
		last     *time.Time
		now      time.Time
		want     time.Duration
	}{
		{name: "every minute, just after a run", schedule: "*/1 * * * *", last: ptr.To(utc("2026-11-22T08:46:00Z")), now: utc("2026-11-22T08:46:00.05Z"), want: 60*time.Second + 50*time.Millisecond},
		{name: "before the first run", schedule: "@hourly", now: utc("2026-11-22T08:45:31Z"), want: 14*time.Minute + 29*time.Second + nextScheduleDelta},
		{name: "many missed: next after now", schedule: "@hourly", last: ptr.To(utc("2026-11-01T00:00:00Z")), now: utc("2026-11-22T08:30:00Z"), want: 30*time.Minute + nextScheduleDelta},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cj := &batchv1.CronJob{
				ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(utc("2026-11-22T08:45:31Z"))},
				Spec:       batchv1.CronJobSpec{Schedule: tt.schedule},
			}
			if tt.last != nil {
				cj.Status.LastScheduleTime = &metav1.Time{Time: *tt.last}
			}
			s, err := parseSchedule(cj, time.UTC)
			if err != nil {
				t.Fatalf("parseSchedule: %v", err)
			}
			if got := nextScheduleTimeDuration(cj, tt.now, s); got != tt.want {
				t.Errorf("requeue after %v, want %v", got, tt.want)
			}
		})
	}
}

func TestJobFromTemplate(t *testing.T) {
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "ns", UID: "cj-uid", Labels: map[string]string{"cronjob-own": "x"}},
		Spec: batchv1.CronJobSpec{
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "a"}, Annotations: map[string]string{"note": "n"}},
				Spec:       batchv1.JobSpec{BackoffLimit: ptr.To[int32](2)},
			},
		},
	}
	scheduled := utc("2024-01-01T00:00:00Z")
	job, err := jobFromTemplate(cj, scheduled)
	if err != nil {
		t.Fatal(err)
	}
	if job.Name != "hello-28401120" {
		t.Errorf("name = %s, want hello-28401120", job.Name)
	}
	if got := job.Annotations[batchv1.CronJobScheduledTimestampAnnotation]; got != "2024-01-01T00:00:00Z" {
		t.Errorf("scheduled annotation = %s", got)
	}
	if job.Annotations["note"] != "n" || job.Labels["app"] != "a" || job.Labels["cronjob-own"] != "" {
		t.Errorf("labels/annotations = %v / %v", job.Labels, job.Annotations)
	}
	ref := job.OwnerReferences[0]
	if ref.APIVersion != "batch/v1" || ref.Kind != "CronJob" || ref.Name != "hello" || ref.UID != "cj-uid" || !*ref.Controller || !*ref.BlockOwnerDeletion {
		t.Errorf("owner reference = %+v", ref)
	}
	if *job.Spec.BackoffLimit != 2 {
		t.Errorf("spec not copied")
	}

	cj.Spec.TimeZone = ptr.To("Asia/Tokyo")
	job, err = jobFromTemplate(cj, utc("2025-03-01T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	if got := job.Annotations[batchv1.CronJobScheduledTimestampAnnotation]; got != "2025-03-01T09:00:00+09:00" {
		t.Errorf("scheduled annotation in Tokyo = %s", got)
	}
}
