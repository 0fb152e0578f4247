package ttlafterfinished

import (
	"context"
	"reflect"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

var finishedAt = time.Date(2026, 11, 22, 8, 44, 18, 0, time.UTC)

func newJob(ttl *int32, cond batchv1.JobConditionType) *batchv1.Job {
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "ttl", Namespace: "ns", UID: "job-uid"},
		Spec:       batchv1.JobSpec{TTLSecondsAfterFinished: ttl},
	}
	if cond != "" {
		j.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(finishedAt.Add(-time.Second))},
			{Type: cond, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(finishedAt)},
		}
	}
	return j
}

type fixture struct {
	ctx    context.Context
	client *fake.Clientset
	clock  *testingclock.FakeClock
	c      *Controller
}

func newFixture(t *testing.T, now time.Time, objs ...runtime.Object) *fixture {
	t.Helper()
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	fc := testingclock.NewFakeClock(now)
	c, err := New(Options{Client: client, Informers: factory, Clock: fc})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); factory.Shutdown() })
	factory.Start(ctx.Done())
	// Wait for the controller's handler (not just the store) to have seen the initial
	// list, so that tests draining the queue afterwards see only what they cause.
	if !cache.WaitFor(ctx, "", c.jobsSynced) {
		t.Fatal("caches did not sync")
	}
	return &fixture{ctx: ctx, client: client, clock: fc, c: c}
}

// deletes returns the Job deletions sent to the API.
func (f *fixture) deletes() []metav1.DeleteOptions {
	var out []metav1.DeleteOptions
	for _, a := range f.client.Actions() {
		if d, ok := a.(clienttesting.DeleteAction); ok {
			out = append(out, d.GetDeleteOptions())
		}
	}
	return out
}

func TestProcessJob(t *testing.T) {
	foregroundWithUID := metav1.DeleteOptions{
		PropagationPolicy: ptr.To(metav1.DeletePropagationForeground),
		Preconditions:     &metav1.Preconditions{UID: ptr.To(types.UID("job-uid"))},
	}
	tests := []struct {
		name       string
		cached     *batchv1.Job
		live       func(*batchv1.Job) // change made in the API after the cache saw the Job
		now        time.Time
		wantDelete bool
		wantAfter  time.Duration // expected requeue (0: none)
	}{
		{name: "complete, TTL not expired: requeue for the time left", cached: newJob(ptr.To[int32](10), batchv1.JobComplete), now: finishedAt.Add(4 * time.Second), wantAfter: 6 * time.Second},
		{name: "complete, TTL expired: delete", cached: newJob(ptr.To[int32](10), batchv1.JobComplete), now: finishedAt.Add(10 * time.Second), wantDelete: true},
		{name: "failed Jobs too", cached: newJob(ptr.To[int32](10), batchv1.JobFailed), now: finishedAt.Add(11 * time.Second), wantDelete: true},
		{name: "TTL 0: delete right after finishing", cached: newJob(ptr.To[int32](0), batchv1.JobComplete), now: finishedAt, wantDelete: true},
		{name: "no TTL", cached: newJob(nil, batchv1.JobComplete), now: finishedAt.Add(time.Hour)},
		{name: "not finished", cached: newJob(ptr.To[int32](0), ""), now: finishedAt.Add(time.Hour)},
		{
			name: "TTL lengthened since the cache saw it: requeue", cached: newJob(ptr.To[int32](10), batchv1.JobComplete), now: finishedAt.Add(10 * time.Second),
			live: func(j *batchv1.Job) { j.Spec.TTLSecondsAfterFinished = ptr.To[int32](100) }, wantAfter: 90 * time.Second,
		},
		{
			name: "TTL removed since the cache saw it: keep", cached: newJob(ptr.To[int32](10), batchv1.JobComplete), now: finishedAt.Add(10 * time.Second),
			live: func(j *batchv1.Job) { j.Spec.TTLSecondsAfterFinished = nil },
		},
		{
			name: "already being deleted", cached: func() *batchv1.Job {
				j := newJob(ptr.To[int32](0), batchv1.JobComplete)
				j.DeletionTimestamp = &metav1.Time{Time: finishedAt}
				j.Finalizers = []string{metav1.FinalizerDeleteDependents}
				return j
			}(), now: finishedAt.Add(time.Minute),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.now, tt.cached)
			if tt.live != nil {
				live := tt.cached.DeepCopy()
				tt.live(live)
				// Change the object behind the informer's back: only the live GET sees it.
				if err := f.client.Tracker().Update(batchv1.SchemeGroupVersion.WithResource("jobs"), live, "ns"); err != nil {
					t.Fatal(err)
				}
				_ = wait.PollUntilContextTimeout(f.ctx, time.Millisecond, time.Second, true, func(context.Context) (bool, error) {
					j, _ := f.c.jobs.Jobs("ns").Get("ttl")
					return reflect.DeepEqual(j.Spec, live.Spec), nil
				})
				// The informer has now seen it too; put the stale copy back into the
				// cache so processJob starts from the stale TTL as in the race.
				if err := f.c.factory.Batch().V1().Jobs().Informer().GetStore().Update(tt.cached); err != nil {
					t.Fatal(err)
				}
			}
			f.client.ClearActions()
			// Drain anything the handlers queued so that only processJob's requeue counts.
			for f.c.queue.Len() > 0 {
				k, _ := f.c.queue.Get()
				f.c.queue.Done(k)
			}
			if err := f.c.processJob(f.ctx, "ns/ttl"); err != nil {
				t.Fatalf("processJob: %v", err)
			}
			got := f.deletes()
			if tt.wantDelete {
				if len(got) != 1 || !reflect.DeepEqual(got[0], foregroundWithUID) {
					t.Errorf("deletes = %+v, want one Foreground delete with UID precondition", got)
				}
			} else if len(got) != 0 {
				t.Errorf("unexpected deletes %+v", got)
			}
			if tt.wantAfter > 0 {
				if f.c.queue.Len() != 0 {
					t.Fatalf("requeued at once, want after %v", tt.wantAfter)
				}
				f.clock.Step(tt.wantAfter - time.Millisecond)
				if f.c.queue.Len() != 0 {
					t.Fatalf("requeued before %v", tt.wantAfter)
				}
				f.clock.Step(time.Millisecond)
				if err := wait.PollUntilContextTimeout(f.ctx, time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
					return f.c.queue.Len() == 1, nil
				}); err != nil {
					t.Errorf("not requeued after %v", tt.wantAfter)
				}
			}
		})
	}
}

// The whole loop: a finished Job with a TTL is deleted once the clock passes expiry.
func TestRunDeletesAtExpiry(t *testing.T) {
	f := newFixture(t, finishedAt.Add(time.Second), newJob(ptr.To[int32](10), batchv1.JobComplete))
	runCtx, cancel := context.WithCancel(f.ctx)
	done := make(chan error, 1)
	go func() { done <- f.c.Run(runCtx, 1) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	// Not before expiry.
	if err := wait.PollUntilContextTimeout(f.ctx, time.Millisecond, 200*time.Millisecond, true, func(context.Context) (bool, error) {
		return len(f.deletes()) > 0, nil
	}); err == nil {
		t.Fatal("deleted before expiry")
	}
	f.clock.Step(9 * time.Second)
	if err := wait.PollUntilContextTimeout(f.ctx, time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		return len(f.deletes()) == 1, nil
	}); err != nil {
		t.Fatalf("not deleted at expiry: %v", err)
	}
	if _, err := f.client.BatchV1().Jobs("ns").Get(f.ctx, "ttl", metav1.GetOptions{}); err == nil {
		t.Error("job still there")
	}
}

// Shortening the TTL of a finished Job is honoured at once, not at the old expiry.
func TestRunHonoursShortenedTTL(t *testing.T) {
	f := newFixture(t, finishedAt.Add(time.Minute), newJob(ptr.To[int32](3600), batchv1.JobComplete))
	runCtx, cancel := context.WithCancel(f.ctx)
	done := make(chan error, 1)
	go func() { done <- f.c.Run(runCtx, 1) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	j, err := f.client.BatchV1().Jobs("ns").Get(f.ctx, "ttl", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	j.Spec.TTLSecondsAfterFinished = ptr.To[int32](30)
	if _, err := f.client.BatchV1().Jobs("ns").Update(f.ctx, j, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := wait.PollUntilContextTimeout(f.ctx, time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		return len(f.deletes()) == 1, nil
	}); err != nil {
		t.Fatalf("not deleted after the TTL was shortened below the time since finishing: %v", err)
	}
}
