package job

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
)

// observeCreates feeds the created pods to the controller's pod handler, as
// the informer would, and puts them in the cache.
func (f *fixture) observeCreates() {
	f.t.Helper()
	pods, err := f.client.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		if _, exists, _ := f.pods.Get(p); !exists {
			f.cache(p)
			f.ctrl.addPod(p)
		}
	}
}

func TestExpectationsHoldBackUntilCreatesAreObserved(t *testing.T) {
	f := newFixture(t)
	job := newJob("j", 2, 4)
	f.add(job)
	if err := f.sync(job); err != nil {
		t.Fatal(err)
	}
	if n := len(f.createdPods()); n != 2 {
		t.Fatalf("created %d, want 2", n)
	}
	f.reset()
	f.refresh()
	// The cache shows the pods, but the creations were not observed as
	// events yet: nothing more may be created.
	if err := f.sync(job); err != nil {
		t.Fatal(err)
	}
	if n := len(f.createdPods()); n != 0 {
		t.Fatalf("created %d while expectations pending, want 0", n)
	}
	for _, o := range f.pods.List() {
		f.ctrl.addPod(o.(*corev1.Pod))
	}
	if !f.ctrl.expectations.Satisfied(jobKey(job)) {
		t.Fatal("expectations not satisfied after observing the creates")
	}
	if err := f.sync(job); err != nil {
		t.Fatal(err)
	}
	if n := len(f.createdPods()); n != 0 {
		t.Fatalf("created %d with parallelism already met, want 0", n)
	}
}

func TestExpectationsExpire(t *testing.T) {
	f := newFixture(t)
	job := newJob("j", 1, 1)
	f.add(job)
	f.ctrl.expectations.ExpectCreations(jobKey(job), 1)
	if err := f.sync(job); err != nil {
		t.Fatal(err)
	}
	if n := len(f.createdPods()); n != 0 {
		t.Fatalf("created %d with a pending expectation", n)
	}
	f.clock.Step(6 * time.Minute)
	if err := f.sync(job); err != nil {
		t.Fatal(err)
	}
	if n := len(f.createdPods()); n != 1 {
		t.Fatalf("created %d after expectations expired, want 1", n)
	}
}

func TestBackoffWaitingAnnouncedOncePerRetry(t *testing.T) {
	f := newFixture(t)
	job := newJob("j", 1, 1)
	failed := newPod(job, "j-a", corev1.PodFailed, finishedAt(testNow))
	f.add(job, failed)
	if err := f.sync(job); err != nil {
		t.Fatal(err)
	}
	ev := f.events()
	if len(ev) != 1 || ev[0] != "Normal BackoffWaiting Pod j-a failed (exit code 1); next pod in 10s (back-off after 1 failure)" {
		t.Fatalf("events %q", ev)
	}
	f.refresh()
	f.clock.Step(4 * time.Second)
	if err := f.sync(job); err != nil {
		t.Fatal(err)
	}
	if ev := f.events(); len(ev) != 0 {
		t.Fatalf("second sync announced again: %q", ev)
	}
	if n := len(f.createdPods()); n != 0 {
		t.Fatalf("created %d during back-off", n)
	}
	f.clock.Step(6 * time.Second)
	if err := f.sync(job); err != nil {
		t.Fatal(err)
	}
	if n := len(f.createdPods()); n != 1 {
		t.Fatalf("created %d after the back-off, want 1", n)
	}
	// The replacement fails too: 20 s now, announced again once.
	f.reset()
	f.observeCreates()
	var second *corev1.Pod
	for _, p := range f.createdPodsFromAPI(job) {
		if p.Name != "j-a" {
			second = p.DeepCopy()
		}
	}
	second.Status.Phase = corev1.PodFailed
	second.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "worker", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2, FinishedAt: metav1.NewTime(f.clock.Now())}}}}
	f.updatePod(second)
	if err := f.sync(job); err != nil {
		t.Fatal(err)
	}
	ev = f.events()
	want := fmt.Sprintf("Normal BackoffWaiting Pod %s failed (exit code 2); next pod in 20s (back-off after 2 failures)", second.Name)
	if len(ev) != 1 || ev[0] != want {
		t.Fatalf("events %q, want %q", ev, want)
	}
	if got := f.job(job).Status.Failed; got != 2 {
		t.Fatalf("failed %d, want 2", got)
	}
}

// createdPodsFromAPI lists job's pods from the API sorted by name.
func (f *fixture) createdPodsFromAPI(job *batchv1.Job) []*corev1.Pod {
	pods, _ := f.client.CoreV1().Pods(job.Namespace).List(context.Background(), metav1.ListOptions{})
	var out []*corev1.Pod
	for i := range pods.Items {
		out = append(out, &pods.Items[i])
	}
	return out
}

// updatePod writes p to the API and the cache and runs the update handler.
func (f *fixture) updatePod(p *corev1.Pod) {
	f.t.Helper()
	old, _, _ := f.pods.Get(p)
	p.ResourceVersion = fmt.Sprint(time.Now().UnixNano())
	if _, err := f.client.CoreV1().Pods(p.Namespace).UpdateStatus(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	f.cache(p)
	if old != nil {
		f.ctrl.updatePod(old, p)
	}
}

func TestActiveDeadlineRequeuesAtTheDeadline(t *testing.T) {
	f := newFixture(t)
	job := newJob("j", 1, 1, deadline(60))
	f.add(job)
	if err := f.sync(job); err != nil {
		t.Fatal(err)
	}
	for f.ctrl.queue.Len() > 0 { // drop anything queued at once
		k, _ := f.ctrl.queue.Get()
		f.ctrl.queue.Done(k)
	}
	f.clock.Step(59 * time.Second)
	if f.ctrl.queue.Len() != 0 {
		t.Fatal("requeued before the deadline")
	}
	f.clock.Step(time.Second)
	waitFor(t, func() bool { return f.ctrl.queue.Len() == 1 })
	f.observeCreates()
	f.refresh()
	if err := f.sync(job); err != nil {
		t.Fatal(err)
	}
	st := f.job(job).Status
	fc := findCondition(st.Conditions, batchv1.JobFailureTarget)
	if fc == nil || fc.Reason != "DeadlineExceeded" || fc.Message != "Job was active longer than specified deadline" {
		t.Fatalf("conditions %+v", st.Conditions)
	}
	// The pod is gone (the fake deletes at once): next sync declares Failed.
	f.refresh()
	f.reset()
	if err := f.sync(job); err != nil {
		t.Fatal(err)
	}
	st = f.job(job).Status
	if got := condSummary(st.Conditions); got != "FailureTarget=True/DeadlineExceeded,Failed=True/DeadlineExceeded" {
		t.Fatalf("conditions %s", got)
	}
	if st.Failed != 1 || st.Active != 0 {
		t.Fatalf("failed %d active %d", st.Failed, st.Active)
	}
	if ev := f.events(); len(ev) != 1 || ev[0] != "Warning DeadlineExceeded Job was active longer than specified deadline" {
		t.Fatalf("events %q", ev)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	// Generous: the deadline only bounds how long a failure takes to show, and CI runs
	// these next to the e2e tests on two cores.
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestInterimConditionIsWrittenBeforeTheTerminalOne(t *testing.T) {
	f := newFixture(t)
	job := newJob("j", 2, 2)
	f.add(job, newPod(job, "a", corev1.PodSucceeded), newPod(job, "b", corev1.PodSucceeded))
	if err := f.sync(job); err != nil {
		t.Fatal(err)
	}
	writes := f.statusWrites()
	if len(writes) != 2 {
		t.Fatalf("%d status writes, want 2", len(writes))
	}
	first, last := writes[0].Status, writes[1].Status
	if got := condSummary(first.Conditions); got != "SuccessCriteriaMet=True/CompletionsReached" {
		t.Errorf("first write conditions %s", got)
	}
	if len(first.UncountedTerminatedPods.Succeeded) != 2 || first.Succeeded != 0 {
		t.Errorf("first write must hold the pods as uncounted: %+v", first)
	}
	if last.Succeeded != 2 || len(last.UncountedTerminatedPods.Succeeded) != 0 {
		t.Errorf("second write must count them: %+v", last)
	}
	c := findCondition(last.Conditions, batchv1.JobComplete)
	if c == nil || c.Message != "Reached expected number of succeeded pods" {
		t.Fatalf("Complete condition %+v", c)
	}
	if f.finalizerRemovals() == nil {
		t.Fatal("no finalizer removed")
	}
}

func TestFinalizerRemovalFailureCountsEachPodOnce(t *testing.T) {
	f := newFixture(t)
	job := newJob("j", 1, 3)
	f.add(job, newPod(job, "a", corev1.PodSucceeded), newPod(job, "b", corev1.PodRunning))
	fail := true
	f.client.PrependReactor("patch", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if fail {
			return true, nil, errors.New("boom")
		}
		return false, nil, nil
	})
	if err := f.sync(job); err == nil {
		t.Fatal("sync succeeded although the finalizer removal failed")
	}
	st := f.job(job).Status
	if st.Succeeded != 0 || len(st.UncountedTerminatedPods.Succeeded) != 1 {
		t.Fatalf("status after failed removal: %+v", st)
	}
	// A restarted controller rebuilds everything from the API.
	fail = false
	g := newFixture(t)
	g.client = f.client
	g.ctrl.client = f.client
	g.refreshFrom(f)
	for i := 0; i < 3; i++ {
		if err := g.sync(job); err != nil {
			t.Fatal(err)
		}
		g.refresh()
	}
	st = g.job(job).Status
	if st.Succeeded != 1 || len(st.UncountedTerminatedPods.Succeeded) != 0 {
		t.Fatalf("status after restart: succeeded %d uncounted %v", st.Succeeded, st.UncountedTerminatedPods)
	}
}

// refreshFrom loads g's caches from the API of f.
func (f *fixture) refreshFrom(_ *fixture) { f.refresh() }

func TestSlowStartStopsAfterAFailedBatch(t *testing.T) {
	f := newFixture(t)
	job := newJob("j", 7, 7)
	f.add(job)
	calls := 0
	f.client.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		calls++
		if calls == 3 { // the second pod of the second batch
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New("quota"))
		}
		return false, nil, nil
	})
	if err := f.sync(job); err == nil {
		t.Fatal("want the create error")
	}
	if calls != 3 {
		t.Fatalf("%d create calls, want 3 (batches 1 and 2)", calls)
	}
	events := countReasons(f.events())
	if events["FailedCreate"] != 1 || events["SuccessfulCreate"] != 2 {
		t.Fatalf("events %v", events)
	}
	if adds, _ := f.ctrl.expectations.Pending(jobKey(job)); adds != 2 {
		t.Fatalf("pending creations %d, want the 2 created", adds)
	}
	if got := f.job(job).Status.Active; got != 2 {
		t.Fatalf("active %d, want 2", got)
	}
}

func TestSlowStartBatchSizes(t *testing.T) {
	f := newFixture(t)
	job := newJob("j", 10, 10)
	f.add(job)
	if err := f.sync(job); err != nil {
		t.Fatal(err)
	}
	if n := len(f.createdPods()); n != 10 {
		t.Fatalf("created %d, want 10 (1+2+4+3)", n)
	}
}

func TestPodShape(t *testing.T) {
	f := newFixture(t)
	name := strings.Repeat("x", 60)
	job := newJob(name, 1, 3, indexedJob, func(j *batchv1.Job) {
		j.Spec.Template.Spec.Subdomain = "svc"
		j.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "init", Env: []corev1.EnvVar{{Name: "JOB_COMPLETION_INDEX", Value: "mine"}}}}
		j.Spec.Template.Annotations = map[string]string{"a": "b"}
		j.Spec.Template.Finalizers = []string{"example.com/keep"}
	})
	f.add(job)
	if err := f.sync(job); err != nil {
		t.Fatal(err)
	}
	pods := f.createdPods()
	if len(pods) != 1 {
		t.Fatalf("created %d", len(pods))
	}
	p := pods[0]
	if want := strings.Repeat("x", 55) + "-0-"; p.GenerateName != want {
		t.Errorf("generateName %q, want %q", p.GenerateName, want)
	}
	if p.Labels[batchv1.JobCompletionIndexAnnotation] != "0" || p.Annotations[batchv1.JobCompletionIndexAnnotation] != "0" || p.Annotations["a"] != "b" {
		t.Errorf("labels %v annotations %v", p.Labels, p.Annotations)
	}
	if p.Labels[batchv1.ControllerUidLabel] != string(job.UID) {
		t.Errorf("template labels missing: %v", p.Labels)
	}
	if p.Spec.Hostname != name+"-0" || p.Spec.Subdomain != "svc" {
		t.Errorf("hostname %q subdomain %q", p.Spec.Hostname, p.Spec.Subdomain)
	}
	if got := strings.Join(p.Finalizers, ","); got != "example.com/keep,"+batchv1.JobTrackingFinalizer {
		t.Errorf("finalizers %s", got)
	}
	ref := metav1.GetControllerOf(p)
	if ref == nil || ref.UID != job.UID || ref.Kind != "Job" || ref.APIVersion != "batch/v1" || !ptr.Deref(ref.BlockOwnerDeletion, false) {
		t.Errorf("owner reference %+v", p.OwnerReferences)
	}
	env := p.Spec.Containers[0].Env
	if len(env) != 1 || env[0].Name != "JOB_COMPLETION_INDEX" || env[0].ValueFrom.FieldRef.FieldPath != "metadata.labels['batch.kubernetes.io/job-completion-index']" {
		t.Errorf("env %+v", env)
	}
	if ienv := p.Spec.InitContainers[0].Env; len(ienv) != 1 || ienv[0].Value != "mine" {
		t.Errorf("init env overridden: %+v", ienv)
	}
	if p.Annotations[batchv1.JobIndexFailureCountAnnotation] != "" {
		t.Errorf("failure count annotation without backoffLimitPerIndex")
	}

	g := newFixture(t)
	plain := newJob("plain", 1, 1)
	g.add(plain)
	if err := g.sync(plain); err != nil {
		t.Fatal(err)
	}
	q := g.createdPods()[0]
	if q.GenerateName != "plain-" || q.Spec.Hostname != "" || q.Spec.Subdomain != "" || len(q.Spec.Containers[0].Env) != 0 {
		t.Errorf("non-indexed pod: %q %q %q %v", q.GenerateName, q.Spec.Hostname, q.Spec.Subdomain, q.Spec.Containers[0].Env)
	}
	if _, ok := q.Labels[batchv1.JobCompletionIndexAnnotation]; ok {
		t.Error("non-indexed pod has an index label")
	}

	h := newFixture(t)
	per := newJob("per", 1, 1, perIndex(1, nil))
	h.add(per)
	if err := h.sync(per); err != nil {
		t.Fatal(err)
	}
	if got := h.createdPods()[0].Annotations[batchv1.JobIndexFailureCountAnnotation]; got != "0" {
		t.Errorf("first pod failure count %q, want \"0\"", got)
	}
}

func TestSteadyStateWritesNothing(t *testing.T) {
	f := newFixture(t)
	job := newJob("j", 2, 4)
	f.add(job)
	if err := f.sync(job); err != nil {
		t.Fatal(err)
	}
	f.observeCreates()
	f.refresh()
	f.reset()
	if err := f.sync(job); err != nil {
		t.Fatal(err)
	}
	if w := f.statusWrites(); len(w) != 0 {
		t.Fatalf("steady sync wrote status %d times", len(w))
	}
	if n := len(f.client.Actions()); n != 0 {
		t.Fatalf("steady sync made %d API calls: %v", n, f.client.Actions())
	}
}

func TestResumeResetsStartTime(t *testing.T) {
	f := newFixture(t)
	job := newJob("j", 1, 1, deadline(30), started(testNow.Add(-time.Hour)),
		withCondition(batchv1.JobSuspended, corev1.ConditionTrue, reasonJobSuspended, msgJobSuspended))
	f.add(job)
	f.clock.Step(time.Minute)
	if err := f.sync(job); err != nil {
		t.Fatal(err)
	}
	st := f.job(job).Status
	if !st.StartTime.Time.Equal(f.clock.Now()) {
		t.Fatalf("startTime %v, want %v", st.StartTime, f.clock.Now())
	}
	c := findCondition(st.Conditions, batchv1.JobSuspended)
	if c.Status != corev1.ConditionFalse || c.Reason != "JobResumed" || c.Message != "Job resumed" {
		t.Fatalf("condition %+v", c)
	}
	if findCondition(st.Conditions, batchv1.JobFailureTarget) != nil {
		t.Fatal("the deadline ran across the suspension")
	}
	if n := len(f.createdPods()); n != 1 {
		t.Fatalf("created %d", n)
	}
}

func TestAdoptionAndRelease(t *testing.T) {
	f := newFixture(t)
	job := newJob("j", 1, 1, func(j *batchv1.Job) {
		j.Spec.ManualSelector = ptr.To(true)
		j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}
		j.Spec.Template.Labels = map[string]string{"app": "x"}
	})
	orphan := newPod(job, "orphan", corev1.PodRunning, noFinalizer)
	orphan.OwnerReferences = nil
	stray := newPod(job, "stray", corev1.PodRunning)
	stray.Labels = map[string]string{"app": "other"}
	f.add(job, orphan, stray)
	if err := f.sync(job); err != nil {
		t.Fatal(err)
	}
	got, _ := f.client.CoreV1().Pods("ns").Get(context.Background(), "orphan", metav1.GetOptions{})
	if ref := metav1.GetControllerOf(got); ref == nil || ref.UID != job.UID || !hasTrackingFinalizer(got) {
		t.Fatalf("orphan not adopted: %+v %v", got.OwnerReferences, got.Finalizers)
	}
	got, _ = f.client.CoreV1().Pods("ns").Get(context.Background(), "stray", metav1.GetOptions{})
	if metav1.GetControllerOf(got) != nil {
		t.Fatalf("stray pod not released: %+v", got.OwnerReferences)
	}
	if n := len(f.createdPods()); n != 0 {
		t.Fatalf("created %d although the adopted pod is active", n)
	}
	if a := f.job(job).Status.Active; a != 1 {
		t.Fatalf("active %d, want 1", a)
	}
}

func TestNoAdoptionWhenTheJobChanged(t *testing.T) {
	f := newFixture(t)
	job := newJob("j", 1, 1, func(j *batchv1.Job) {
		j.Spec.ManualSelector = ptr.To(true)
		j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}
	})
	orphan := newPod(job, "orphan", corev1.PodRunning, noFinalizer)
	orphan.OwnerReferences = nil
	orphan.Labels = map[string]string{"app": "x"}
	f.add(job, orphan)
	// The API has a different Job of the same name by now.
	other := job.DeepCopy()
	other.UID = "new-uid"
	if _, err := f.client.BatchV1().Jobs("ns").Update(context.Background(), other, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	_ = f.sync(job)
	got, _ := f.client.CoreV1().Pods("ns").Get(context.Background(), "orphan", metav1.GetOptions{})
	if len(got.OwnerReferences) != 0 {
		t.Fatalf("adopted by a stale Job: %+v", got.OwnerReferences)
	}
}

func TestOrphanPodFinalizerCleanup(t *testing.T) {
	f := newFixture(t)
	running := newJob("running", 1, 1)
	done := newJob("done", 1, 1, withCondition(batchv1.JobComplete, corev1.ConditionTrue, "CompletionsReached", msgCompletionsReached))
	gone := newJob("gone", 1, 1)
	noOwner := newPod(running, "no-owner", corev1.PodSucceeded)
	noOwner.OwnerReferences = nil
	noOwner.Labels = map[string]string{"x": "y"}
	f.add(running, done,
		newPod(running, "of-running", corev1.PodRunning),
		newPod(done, "of-done", corev1.PodSucceeded),
		newPod(gone, "of-gone", corev1.PodFailed),
		noOwner)
	for _, name := range []string{"of-running", "of-done", "of-gone", "no-owner"} {
		if err := f.ctrl.syncOrphanPod(context.Background(), "ns/"+name); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(f.finalizerRemovals(), ","); got != "no-owner,of-done,of-gone" {
		t.Fatalf("finalizers removed from %q", got)
	}
}

func TestDeletedJobIsForgotten(t *testing.T) {
	f := newFixture(t)
	job := newJob("j", 1, 1)
	key := jobKey(job)
	f.ctrl.expectations.ExpectCreations(key, 3)
	f.ctrl.backoffs.put(key, backoffRecord{failuresAfterLastSuccess: 2})
	if err := f.sync(job); err != nil {
		t.Fatal(err)
	}
	if !f.ctrl.expectations.Satisfied(key) || f.ctrl.backoffs.get(key).failuresAfterLastSuccess != 0 {
		t.Fatal("state of a deleted Job kept")
	}
}

func TestDeletingJobReleasesAllPods(t *testing.T) {
	f := newFixture(t)
	job := newJob("j", 2, 2)
	job.DeletionTimestamp = &metav1.Time{Time: testNow}
	job.Finalizers = []string{"orphan"}
	f.add(job, newPod(job, "r", corev1.PodRunning), newPod(job, "s", corev1.PodSucceeded))
	if err := f.sync(job); err != nil {
		t.Fatal(err)
	}
	if n := len(f.createdPods()); n != 0 {
		t.Fatalf("created %d for a deleted Job", n)
	}
	if got := strings.Join(f.finalizerRemovals(), ","); got != "r,s" {
		t.Fatalf("finalizers removed from %q", got)
	}
}

func TestFinishedPodsAreNotDeleted(t *testing.T) {
	f := newFixture(t)
	job := newJob("j", 1, 1, backoffLimit(0))
	f.add(job, newPod(job, "f", corev1.PodFailed))
	if err := f.sync(job); err != nil {
		t.Fatal(err)
	}
	if d := f.deletedPods(); len(d) != 0 {
		t.Fatalf("deleted %v", d)
	}
	c := findCondition(f.job(job).Status.Conditions, batchv1.JobFailed)
	if c == nil || c.Message != "Job has reached the specified backoff limit" {
		t.Fatalf("Failed condition %+v", c)
	}
}

func TestPodFailurePolicyMessages(t *testing.T) {
	job := newJob("j", 1, 1)
	cases := map[string]struct {
		rule batchv1.PodFailurePolicyRule
		pod  *corev1.Pod
		want string
	}{
		"exit code": {
			rule: batchv1.PodFailurePolicyRule{Action: batchv1.PodFailurePolicyActionFailJob,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{5}}},
			pod:  newPod(job, "p", corev1.PodFailed, exitCode(5)),
			want: "Container worker for pod ns/p failed with exit code 5 matching FailJob rule at index 1",
		},
		"init container exit code": {
			rule: batchv1.PodFailurePolicyRule{Action: batchv1.PodFailurePolicyActionFailJob,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpNotIn, Values: []int32{5}}},
			pod: func() *corev1.Pod {
				p := newPod(job, "p", corev1.PodFailed)
				p.Status.ContainerStatuses = nil
				p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "init", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 7}}}}
				return p
			}(),
			want: "Container init for pod ns/p failed with exit code 7 matching FailJob rule at index 1",
		},
		"pod condition": {
			rule: batchv1.PodFailurePolicyRule{Action: batchv1.PodFailurePolicyActionFailJob,
				OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}},
			pod:  newPod(job, "p", corev1.PodFailed, condition(corev1.DisruptionTarget)),
			want: "Pod ns/p has condition DisruptionTarget matching FailJob rule at index 1",
		},
		"exit code 0 never matches": {
			rule: batchv1.PodFailurePolicyRule{Action: batchv1.PodFailurePolicyActionFailJob,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpNotIn, Values: []int32{5}}},
			pod: newPod(job, "p", corev1.PodFailed, exitCode(0)),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			j := job.DeepCopy()
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
				// A rule that matches nothing comes first: the index in the
				// message is the matching rule's.
				{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: "Other", Status: corev1.ConditionTrue}}},
				tc.rule,
			}}
			if got := failJobMessage(j, []*corev1.Pod{tc.pod}); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
