package cronjob

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

const ns = "cron"

// fixture is a Controller on a fake clientset with synced informers and a fake clock.
type fixture struct {
	t        *testing.T
	ctx      context.Context
	client   *fake.Clientset
	clock    *testingclock.FakeClock
	recorder *record.FakeRecorder
	c        *Controller
	events   []string
}

func newFixture(t *testing.T, now time.Time, objs ...runtime.Object) *fixture {
	t.Helper()
	client := fake.NewClientset(objs...)
	var uids atomic.Int64
	// The fake does not assign UIDs; the API server does.
	client.PrependReactor("create", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		obj := a.(clienttesting.CreateAction).GetObject().(metav1.Object)
		if obj.GetUID() == "" {
			obj.SetUID(types.UID(fmt.Sprintf("uid-%d", uids.Add(1))))
		}
		return false, nil, nil
	})
	factory := informers.NewSharedInformerFactory(client, 0)
	fc := testingclock.NewFakeClock(now)
	rec := record.NewFakeRecorder(1000)
	c, err := New(Options{Client: client, Informers: factory, Clock: fc, Location: time.UTC, Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		factory.Shutdown()
	})
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	return &fixture{t: t, ctx: ctx, client: client, clock: fc, recorder: rec, c: c}
}

// sync runs one sync of the CronJob after the caches caught up with the API.
func (f *fixture) sync(name string) *time.Duration {
	f.t.Helper()
	f.waitForCaches()
	f.client.ClearActions()
	d, err := f.c.sync(f.ctx, ns+"/"+name)
	if err != nil {
		f.t.Fatalf("sync: %v", err)
	}
	f.drainEvents()
	return d
}

func (f *fixture) drainEvents() {
	for {
		select {
		case e := <-f.recorder.Events:
			f.events = append(f.events, e)
		default:
			return
		}
	}
}

// waitForCaches polls until the informer caches hold exactly what the API holds.
func (f *fixture) waitForCaches() {
	f.t.Helper()
	err := wait.PollUntilContextTimeout(f.ctx, time.Millisecond, 5*time.Second, true, func(ctx context.Context) (bool, error) {
		jobs, err := f.client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		cached, _ := f.c.jobs.Jobs(ns).List(labels.Everything())
		if len(cached) != len(jobs.Items) {
			return false, nil
		}
		for i := range jobs.Items {
			cj, err := f.c.jobs.Jobs(ns).Get(jobs.Items[i].Name)
			if err != nil || !reflect.DeepEqual(cj, &jobs.Items[i]) {
				return false, nil
			}
		}
		cjs, err := f.client.BatchV1().CronJobs(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for i := range cjs.Items {
			c, err := f.c.cronJobs.CronJobs(ns).Get(cjs.Items[i].Name)
			if err != nil || !reflect.DeepEqual(c, &cjs.Items[i]) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		f.t.Fatalf("caches did not catch up: %v", err)
	}
}

func (f *fixture) cronJob(name string) *batchv1.CronJob {
	f.t.Helper()
	cj, err := f.client.BatchV1().CronJobs(ns).Get(f.ctx, name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return cj
}

func (f *fixture) jobNames() []string {
	f.t.Helper()
	list, err := f.client.BatchV1().Jobs(ns).List(f.ctx, metav1.ListOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	var names []string
	for _, j := range list.Items {
		names = append(names, j.Name)
	}
	slices.Sort(names)
	return names
}

// updateJob changes a Job in the API (as the Job controller would).
func (f *fixture) updateJob(name string, mutate func(*batchv1.Job)) {
	f.t.Helper()
	j, err := f.client.BatchV1().Jobs(ns).Get(f.ctx, name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	mutate(j)
	if _, err := f.client.BatchV1().Jobs(ns).Update(f.ctx, j, metav1.UpdateOptions{}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) updateCronJob(name string, mutate func(*batchv1.CronJob)) {
	f.t.Helper()
	cj := f.cronJob(name)
	mutate(cj)
	if _, err := f.client.BatchV1().CronJobs(ns).Update(f.ctx, cj, metav1.UpdateOptions{}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) deletions() []string {
	var out []string
	for _, a := range f.client.Actions() {
		if d, ok := a.(clienttesting.DeleteAction); ok && a.GetResource().Resource == "jobs" {
			policy := "<none>"
			if p := d.GetDeleteOptions().PropagationPolicy; p != nil {
				policy = string(*p)
			}
			out = append(out, d.GetName()+":"+policy)
		}
	}
	return out
}

func (f *fixture) wantEvents(want ...string) {
	f.t.Helper()
	if !slices.Equal(f.events, want) && !(len(f.events) == 0 && len(want) == 0) {
		f.t.Errorf("events:\n got %q\nwant %q", f.events, want)
	}
	f.events = nil
}

func newCronJob(name, schedule string, created time.Time) *batchv1.CronJob {
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID(name + "-uid"), CreationTimestamp: metav1.NewTime(created)},
		Spec: batchv1.CronJobSpec{
			Schedule:                   schedule,
			ConcurrencyPolicy:          batchv1.AllowConcurrent,
			Suspend:                    ptr.To(false),
			SuccessfulJobsHistoryLimit: ptr.To[int32](3),
			FailedJobsHistoryLimit:     ptr.To[int32](1),
			JobTemplate: batchv1.JobTemplateSpec{
				Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: "worker", Image: "busybox"}},
				}}},
			},
		},
	}
}

// childJob is a Job the CronJob created for a schedule time.
func childJob(cj *batchv1.CronJob, scheduled time.Time, cond batchv1.JobConditionType, start *time.Time) *batchv1.Job {
	j, err := jobFromTemplate(cj, scheduled)
	if err != nil {
		panic(err)
	}
	j.UID = types.UID(j.Name + "-uid")
	if start != nil {
		j.Status.StartTime = &metav1.Time{Time: *start}
	}
	if cond != "" {
		j.Status.Conditions = []batchv1.JobCondition{{Type: cond, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(scheduled.Add(7 * time.Second))}}
		if cond == batchv1.JobComplete {
			j.Status.CompletionTime = &metav1.Time{Time: scheduled.Add(7 * time.Second)}
		}
	}
	return j
}

func withActive(cj *batchv1.CronJob, jobs ...*batchv1.Job) *batchv1.CronJob {
	for _, j := range jobs {
		cj.Status.Active = append(cj.Status.Active, jobReference(j))
	}
	return cj
}

func TestFirstRunMatchesKubernetes(t *testing.T) {
	created := utc("2026-11-22T08:45:31Z")
	f := newFixture(t, created.Add(200*time.Millisecond), newCronJob("every-minute", "*/1 * * * *", created))

	if d := f.sync("every-minute"); d == nil || *d != 28*time.Second+900*time.Millisecond {
		t.Fatalf("requeue before the first time = %v", d)
	}
	if got := f.jobNames(); len(got) != 0 {
		t.Fatalf("jobs before schedule: %v", got)
	}

	f.clock.SetTime(utc("2026-11-22T08:46:00.1Z"))
	d := f.sync("every-minute")
	if d == nil || *d != 60*time.Second {
		t.Errorf("requeue = %v, want 1m0s", d)
	}
	if got := f.jobNames(); !slices.Equal(got, []string{"every-minute-29922286"}) {
		t.Fatalf("jobs = %v", got)
	}
	f.wantEvents("Normal SuccessfulCreate Created job every-minute-29922286")
	cj := f.cronJob("every-minute")
	if len(cj.Status.Active) != 1 || cj.Status.Active[0].Name != "every-minute-29922286" || cj.Status.Active[0].Kind != "Job" || cj.Status.Active[0].APIVersion != "batch/v1" {
		t.Errorf("active = %+v", cj.Status.Active)
	}
	if !cj.Status.LastScheduleTime.Time.Equal(utc("2026-11-22T08:46:00Z")) {
		t.Errorf("lastScheduleTime = %v", cj.Status.LastScheduleTime)
	}
	job, _ := f.client.BatchV1().Jobs(ns).Get(f.ctx, "every-minute-29922286", metav1.GetOptions{})
	if got := job.Annotations[batchv1.CronJobScheduledTimestampAnnotation]; got != "2026-11-22T08:46:00Z" {
		t.Errorf("annotation = %s", got)
	}

	// The Job completes: removed from active, lastSuccessfulTime set, nothing new yet.
	f.updateJob("every-minute-29922286", func(j *batchv1.Job) {
		j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
		j.Status.CompletionTime = &metav1.Time{Time: utc("2026-11-22T08:46:07Z")}
	})
	f.clock.SetTime(utc("2026-11-22T08:46:08Z"))
	f.sync("every-minute")
	f.wantEvents("Normal SawCompletedJob Saw completed job: every-minute-29922286, condition: Complete")
	cj = f.cronJob("every-minute")
	if len(cj.Status.Active) != 0 || !cj.Status.LastSuccessfulTime.Time.Equal(utc("2026-11-22T08:46:07Z")) {
		t.Errorf("status = %+v", cj.Status)
	}
}

func TestConcurrencyPolicies(t *testing.T) {
	created := utc("2026-11-22T07:00:00Z")
	prev := utc("2026-11-22T08:00:00Z")
	now := utc("2026-11-22T09:00:00.1Z")
	tests := []struct {
		name       string
		policy     batchv1.ConcurrencyPolicy
		wantJobs   []string
		wantActive []string
		wantDelete []string
		wantEvents []string
		wantLast   time.Time
	}{
		{
			name: "Allow runs side by side", policy: batchv1.AllowConcurrent,
			wantJobs: []string{"hourly-29922240", "hourly-29922300"}, wantActive: []string{"hourly-29922240", "hourly-29922300"},
			wantEvents: []string{"Normal SuccessfulCreate Created job hourly-29922300"}, wantLast: utc("2026-11-22T09:00:00Z"),
		},
		{
			name: "Forbid skips and keeps lastScheduleTime", policy: batchv1.ForbidConcurrent,
			wantJobs: []string{"hourly-29922240"}, wantActive: []string{"hourly-29922240"},
			wantEvents: []string{"Normal JobAlreadyActive Not starting job because prior execution is running and concurrency policy is Forbid"}, wantLast: prev,
		},
		{
			name: "Replace deletes the running Job in the background", policy: batchv1.ReplaceConcurrent,
			wantJobs: []string{"hourly-29922300"}, wantActive: []string{"hourly-29922300"}, wantDelete: []string{"hourly-29922240:Background"},
			wantEvents: []string{"Normal SuccessfulDelete Deleted job hourly-29922240", "Normal SuccessfulCreate Created job hourly-29922300"}, wantLast: utc("2026-11-22T09:00:00Z"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cj := newCronJob("hourly", "0 * * * *", created)
			cj.Spec.ConcurrencyPolicy = tt.policy
			cj.Status.LastScheduleTime = &metav1.Time{Time: prev}
			running := childJob(cj, prev, "", &prev)
			withActive(cj, running)
			f := newFixture(t, now, cj, running)

			if d := f.sync("hourly"); d == nil || *d != time.Hour {
				t.Errorf("requeue = %v, want 1h", d)
			}
			if got := f.jobNames(); !slices.Equal(got, tt.wantJobs) {
				t.Errorf("jobs = %v, want %v", got, tt.wantJobs)
			}
			st := f.cronJob("hourly").Status
			var active []string
			for _, r := range st.Active {
				active = append(active, r.Name)
			}
			if !slices.Equal(active, tt.wantActive) {
				t.Errorf("active = %v, want %v", active, tt.wantActive)
			}
			if !st.LastScheduleTime.Time.Equal(tt.wantLast) {
				t.Errorf("lastScheduleTime = %v, want %v", st.LastScheduleTime, tt.wantLast)
			}
			if got := f.deletions(); !slices.Equal(got, tt.wantDelete) {
				t.Errorf("deletions = %v, want %v", got, tt.wantDelete)
			}
			f.wantEvents(tt.wantEvents...)
		})
	}
}

// With Forbid, the skipped time runs as soon as the running Job ends.
func TestForbidCatchesUpWhenTheRunningJobEnds(t *testing.T) {
	prev := utc("2026-11-22T08:00:00Z")
	cj := newCronJob("hourly", "0 * * * *", utc("2026-11-22T07:00:00Z"))
	cj.Spec.ConcurrencyPolicy = batchv1.ForbidConcurrent
	cj.Status.LastScheduleTime = &metav1.Time{Time: prev}
	running := childJob(cj, prev, "", &prev)
	withActive(cj, running)
	f := newFixture(t, utc("2026-11-22T09:00:00.1Z"), cj, running)

	f.sync("hourly")
	f.wantEvents("Normal JobAlreadyActive Not starting job because prior execution is running and concurrency policy is Forbid")

	f.updateJob(running.Name, func(j *batchv1.Job) {
		j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue}}
	})
	f.clock.SetTime(utc("2026-11-22T09:20:00Z"))
	f.sync("hourly")
	f.wantEvents(
		"Normal SawCompletedJob Saw completed job: hourly-29922240, condition: Failed",
		"Normal SuccessfulCreate Created job hourly-29922300",
	)
	if got := f.jobNames(); !slices.Equal(got, []string{"hourly-29922240", "hourly-29922300"}) {
		t.Errorf("jobs = %v", got)
	}
}

func TestHistoryLimits(t *testing.T) {
	cj := newCronJob("h", "0 * * * *", utc("2026-11-01T00:00:00Z"))
	cj.Spec.Suspend = ptr.To(true) // only pruning
	base := utc("2026-11-22T00:00:00Z")
	objs := []runtime.Object{}
	var running *batchv1.Job
	for i := range 5 {
		at := base.Add(time.Duration(i) * time.Hour)
		objs = append(objs, childJob(cj, at, batchv1.JobComplete, &at))
	}
	// A complete Job without startTime counts as the newest.
	objs = append(objs, childJob(cj, base.Add(10*time.Hour), batchv1.JobComplete, nil))
	for i := range 2 {
		at := base.Add(time.Duration(20+i) * time.Hour)
		objs = append(objs, childJob(cj, at, batchv1.JobFailed, &at))
	}
	at := base.Add(30 * time.Hour)
	running = childJob(cj, at, "", &at)
	withActive(cj, running)
	objs = append(objs, running)
	f := newFixture(t, utc("2026-11-23T07:30:00Z"), append(objs, cj)...)

	f.sync("h")
	got := f.deletions()
	// successful: the three oldest of six go; failed: the older of two goes.
	want := []string{"h-29921760:Background", "h-29921820:Background", "h-29921880:Background", "h-29922960:Background"}
	if !slices.Equal(got, want) {
		t.Errorf("deletions = %v, want %v", got, want)
	}
	f.wantEvents(
		"Normal SuccessfulDelete Deleted job h-29921760",
		"Normal SuccessfulDelete Deleted job h-29921820",
		"Normal SuccessfulDelete Deleted job h-29921880",
		"Normal SuccessfulDelete Deleted job h-29922960",
	)

	// Limit 0 removes every finished Job of that kind.
	f.updateCronJob("h", func(cj *batchv1.CronJob) { cj.Spec.SuccessfulJobsHistoryLimit = ptr.To[int32](0) })
	f.sync("h")
	if got := f.jobNames(); !slices.Equal(got, []string{"h-29923020", running.Name}) {
		t.Errorf("jobs left = %v", got)
	}
}

func TestMissedSchedules(t *testing.T) {
	tests := []struct {
		name       string
		last       time.Time
		deadline   *int64
		now        time.Time
		wantJobs   []string
		wantEvents []string
	}{
		{
			name: "more than 100 missed: warn and start the latest", last: utc("2026-11-22T05:00:00Z"), now: utc("2026-11-22T08:30:10Z"),
			wantJobs: []string{"m-29922270"},
			wantEvents: []string{
				"Warning TooManyMissedTimes too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew",
				"Normal SuccessfulCreate Created job m-29922270",
			},
		},
		{
			name: "restart catch-up starts one Job for the latest time", last: utc("2026-11-22T08:20:00Z"), now: utc("2026-11-22T08:30:10Z"),
			wantJobs: []string{"m-29922270"}, wantEvents: []string{"Normal SuccessfulCreate Created job m-29922270"},
		},
		{
			name: "within the starting deadline", last: utc("2026-11-22T08:20:00Z"), deadline: ptr.To[int64](30), now: utc("2026-11-22T08:30:10Z"),
			wantJobs: []string{"m-29922270"}, wantEvents: []string{"Normal SuccessfulCreate Created job m-29922270"},
		},
		{
			name: "past the starting deadline: silently skipped", last: utc("2026-11-22T08:20:00Z"), deadline: ptr.To[int64](5), now: utc("2026-11-22T08:30:10Z"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cj := newCronJob("m", "*/1 * * * *", utc("2026-11-01T00:00:00Z"))
			cj.Spec.StartingDeadlineSeconds = tt.deadline
			cj.Status.LastScheduleTime = &metav1.Time{Time: tt.last}
			f := newFixture(t, tt.now, cj)
			if d := f.sync("m"); d == nil || *d != 50*time.Second+nextScheduleDelta {
				t.Errorf("requeue = %v, want 50s", d)
			}
			if got := f.jobNames(); !slices.Equal(got, tt.wantJobs) {
				t.Errorf("jobs = %v, want %v", got, tt.wantJobs)
			}
			f.wantEvents(tt.wantEvents...)
		})
	}
}

func TestSuspendAndResume(t *testing.T) {
	cj := newCronJob("s", "0 * * * *", utc("2026-11-22T06:30:00Z"))
	cj.Spec.Suspend = ptr.To(true)
	f := newFixture(t, utc("2026-11-22T08:10:00Z"), cj)
	if d := f.sync("s"); d != nil {
		t.Errorf("suspended cronjob requeued after %v", d)
	}
	if got := f.jobNames(); len(got) != 0 {
		t.Fatalf("suspended cronjob created %v", got)
	}
	// Resuming after a schedule time passed starts the latest missed run at once.
	f.updateCronJob("s", func(cj *batchv1.CronJob) { cj.Spec.Suspend = ptr.To(false) })
	f.sync("s")
	if got := f.jobNames(); !slices.Equal(got, []string{"s-29922240"}) {
		t.Errorf("jobs after resume = %v", got)
	}
}

// A retry after a lost status update finds the Job by name and records it instead of
// creating another one.
func TestAlreadyExistsIsRecordedNotDuplicated(t *testing.T) {
	sched := utc("2026-11-22T08:00:00Z")
	cj := newCronJob("a", "0 * * * *", utc("2026-11-22T07:30:00Z"))
	existing := childJob(cj, sched, "", &sched)
	f := newFixture(t, utc("2026-11-22T08:00:05Z"), cj, existing)

	f.sync("a")
	f.wantEvents("Warning UnexpectedJob Saw a job that the controller did not create or forgot: a-29922240")
	if got := f.jobNames(); !slices.Equal(got, []string{"a-29922240"}) {
		t.Errorf("jobs = %v", got)
	}
	st := f.cronJob("a").Status
	if len(st.Active) != 1 || st.Active[0].UID != existing.UID || !st.LastScheduleTime.Time.Equal(sched) {
		t.Errorf("status = %+v", st)
	}
	// And a second pass does nothing more.
	f.sync("a")
	f.wantEvents()
	for _, a := range f.client.Actions() {
		if a.GetVerb() == "create" {
			t.Errorf("unexpected create: %v", a)
		}
	}
}

func TestMissingJobIsDropped(t *testing.T) {
	cj := newCronJob("g", "0 * * * *", utc("2026-11-22T07:30:00Z"))
	cj.Status.LastScheduleTime = &metav1.Time{Time: utc("2026-11-22T08:00:00Z")}
	cj.Status.Active = []corev1.ObjectReference{{Kind: "Job", APIVersion: "batch/v1", Namespace: ns, Name: "g-29922240", UID: "gone"}}
	f := newFixture(t, utc("2026-11-22T08:10:00Z"), cj)
	f.sync("g")
	f.wantEvents("Normal MissingJob Active job went missing: g-29922240")
	if st := f.cronJob("g").Status; len(st.Active) != 0 {
		t.Errorf("active = %+v", st.Active)
	}
}

func TestBadSpecsOnlyWarn(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*batchv1.CronJob)
		want   string
	}{
		{"unknown time zone", func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptr.To("Mars/Olympus") }, `Warning UnknownTimeZone invalid timeZone: "Mars/Olympus": unknown time zone Mars/Olympus`},
		{"unparseable schedule", func(cj *batchv1.CronJob) { cj.Spec.Schedule = "not a cron" }, `Warning UnparseableSchedule unparseable schedule: "not a cron" : expected exactly 5 fields, found 3: [not a cron]`},
		{"never fires", func(cj *batchv1.CronJob) { cj.Spec.Schedule = "0 0 31 2 *" }, "Warning InvalidSchedule invalid schedule: 0 0 31 2 * : time difference between two schedules is less than 1 second"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cj := newCronJob("bad", "0 * * * *", utc("2026-11-22T07:30:00Z"))
			tt.mutate(cj)
			f := newFixture(t, utc("2026-11-22T09:10:00Z"), cj)
			if d := f.sync("bad"); d != nil {
				t.Errorf("requeued after %v", d)
			}
			f.wantEvents(tt.want)
			if got := f.jobNames(); len(got) != 0 {
				t.Errorf("jobs = %v", got)
			}
		})
	}
}

func TestCronJobGoneOrBeingDeleted(t *testing.T) {
	f := newFixture(t, utc("2026-11-22T09:10:00Z"))
	if d, err := f.c.sync(f.ctx, ns+"/nothing"); d != nil || err != nil {
		t.Errorf("sync of missing cronjob = %v, %v", d, err)
	}
	if _, err := f.client.BatchV1().Jobs(ns).Get(f.ctx, "x", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("unexpected job: %v", err)
	}

	cj := newCronJob("d", "0 * * * *", utc("2026-11-22T07:30:00Z"))
	cj.DeletionTimestamp = &metav1.Time{Time: utc("2026-11-22T09:00:00Z")}
	f = newFixture(t, utc("2026-11-22T09:10:00Z"), cj)
	f.sync("d")
	if got := f.jobNames(); len(got) != 0 {
		t.Errorf("a cronjob being deleted created %v", got)
	}
}

// Run wires informers, handlers and the delaying queue: a CronJob created while the
// controller runs gets its Job once the (fake) clock reaches the schedule time.
func TestRunCreatesJobWhenTheClockReachesTheSchedule(t *testing.T) {
	created := utc("2026-11-22T08:45:31Z")
	f := newFixture(t, created)
	runCtx, cancel := context.WithCancel(f.ctx)
	done := make(chan error, 1)
	go func() { done <- f.c.Run(runCtx, 2) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	if _, err := f.client.BatchV1().CronJobs(ns).Create(f.ctx, newCronJob("every-minute", "*/1 * * * *", created), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Step the fake clock until the queue's timer fires and the Job appears.
	err := wait.PollUntilContextTimeout(f.ctx, 5*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		if f.clock.Now().Before(utc("2026-11-22T08:46:01Z")) {
			f.clock.Step(time.Second)
		}
		return len(f.jobNames()) == 1, nil
	})
	if err != nil {
		t.Fatalf("no job created: %v (clock %v)", err, f.clock.Now())
	}
	if got := f.jobNames(); got[0] != "every-minute-29922286" {
		t.Errorf("job = %v", got)
	}
}

// A schedule carrying its own CRON_TZ still runs, in that zone, with a warning.
func TestScheduleWithCronTZRunsWithWarning(t *testing.T) {
	cj := newCronJob("tz", "CRON_TZ=Asia/Tokyo 0 9 * * *", utc("2026-11-21T00:00:00Z"))
	f := newFixture(t, utc("2026-11-22T00:00:01Z"), cj) // 09:00:01 in Tokyo
	f.sync("tz")
	f.wantEvents(
		`Warning UnsupportedSchedule CRON_TZ or TZ used in schedule "CRON_TZ=Asia/Tokyo 0 9 * * *" is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details`,
		"Normal SuccessfulCreate Created job tz-"+fmt.Sprint(utc("2026-11-22T00:00:00Z").Unix()/60),
	)
}
