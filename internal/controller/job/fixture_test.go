package job

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

// testNow is the fake clock's start.
var testNow = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)

// fixture is a controller on a fake clientset whose informer caches the test
// fills directly; sync runs one syncJob.
type fixture struct {
	t        testing.TB
	client   *fake.Clientset
	clock    *clocktesting.FakeClock
	ctrl     *Controller
	recorder *record.FakeRecorder
	jobs     cache.Indexer
	pods     cache.Indexer
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	// NewClientset's field-managed tracker builds a REST mapper on every
	// call (seconds for thousands of pods); the simple tracker applies the
	// same patches without it.
	client := fake.NewSimpleClientset()
	var n atomic.Int64
	// The fake tracker neither generates names nor UIDs.
	client.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pod := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		if pod.Name == "" {
			pod.Name = fmt.Sprintf("%s%05d", pod.GenerateName, n.Add(1))
		}
		if pod.UID == "" {
			pod.UID = types.UID("uid-" + pod.Name)
		}
		return false, nil, nil
	})
	clk := clocktesting.NewFakeClock(testNow)
	factory := informers.NewSharedInformerFactory(client, 0)
	rec := record.NewFakeRecorder(10000)
	c, err := newController(Options{Client: client, Informers: factory, Clock: clk}, rec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.queue.ShutDown(); c.orphanQueue.ShutDown() })
	return &fixture{
		t: t, client: client, clock: clk, ctrl: c, recorder: rec,
		jobs: factory.Batch().V1().Jobs().Informer().GetIndexer(),
		pods: factory.Core().V1().Pods().Informer().GetIndexer(),
	}
}

// add puts objects in both the API (fake tracker) and the caches.
func (f *fixture) add(objs ...runtime.Object) {
	f.t.Helper()
	for _, o := range objs {
		if err := f.client.Tracker().Add(o); err != nil {
			f.t.Fatal(err)
		}
		f.cache(o)
	}
}

// cache puts objects in the informer caches only (what a watch would do).
func (f *fixture) cache(objs ...runtime.Object) {
	for _, o := range objs {
		switch o := o.(type) {
		case *batchv1.Job:
			_ = f.jobs.Update(o)
		case *corev1.Pod:
			_ = f.pods.Update(o)
		}
	}
}

func (f *fixture) sync(job *batchv1.Job) error {
	f.t.Helper()
	return f.ctrl.syncJob(context.Background(), jobKey(job))
}

// refresh copies the API's current Jobs and pods into the caches, as the
// informers would, and drops pods deleted from the API.
func (f *fixture) refresh() {
	f.t.Helper()
	jobs, _ := f.client.BatchV1().Jobs("").List(context.Background(), metav1.ListOptions{})
	for i := range jobs.Items {
		_ = f.jobs.Update(&jobs.Items[i])
	}
	pods, _ := f.client.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{})
	live := map[string]bool{}
	for i := range pods.Items {
		p := &pods.Items[i]
		live[p.Namespace+"/"+p.Name] = true
		_ = f.pods.Update(p)
	}
	for _, o := range f.pods.List() {
		p := o.(*corev1.Pod)
		if !live[p.Namespace+"/"+p.Name] {
			_ = f.pods.Delete(p)
		}
	}
}

func (f *fixture) job(j *batchv1.Job) *batchv1.Job {
	f.t.Helper()
	got, err := f.client.BatchV1().Jobs(j.Namespace).Get(context.Background(), j.Name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return got
}

func (f *fixture) actions(verb, resource string) []k8stesting.Action {
	var out []k8stesting.Action
	for _, a := range f.client.Actions() {
		if a.GetVerb() == verb && a.GetResource().Resource == resource && (verb != "update" || a.GetSubresource() == "status") {
			out = append(out, a)
		}
	}
	return out
}

func (f *fixture) createdPods() []*corev1.Pod {
	var out []*corev1.Pod
	for _, a := range f.actions("create", "pods") {
		out = append(out, a.(k8stesting.CreateAction).GetObject().(*corev1.Pod))
	}
	return out
}

func (f *fixture) deletedPods() []string {
	var out []string
	for _, a := range f.actions("delete", "pods") {
		out = append(out, a.(k8stesting.DeleteAction).GetName())
	}
	sort.Strings(out)
	return out
}

// finalizerRemovals returns the pods patched with the finalizer removal.
func (f *fixture) finalizerRemovals() []string {
	var out []string
	for _, a := range f.actions("patch", "pods") {
		pa := a.(k8stesting.PatchAction)
		if string(pa.GetPatch()) == string(removeFinalizerPatch) && pa.GetPatchType() == types.StrategicMergePatchType {
			out = append(out, pa.GetName())
		}
	}
	sort.Strings(out)
	return out
}

func (f *fixture) statusWrites() []*batchv1.Job {
	var out []*batchv1.Job
	for _, a := range f.actions("update", "jobs") {
		out = append(out, a.(k8stesting.UpdateAction).GetObject().(*batchv1.Job))
	}
	return out
}

// events drains the recorded events ("Type Reason Message").
func (f *fixture) events() []string {
	var out []string
	for {
		select {
		case e := <-f.recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func (f *fixture) reset() {
	f.client.ClearActions()
	f.events()
}

// --- builders ---

type jobOpt func(*batchv1.Job)

func newJob(name string, parallelism, completions int32, opts ...jobOpt) *batchv1.Job {
	uid := types.UID("job-uid-" + name[:min(len(name), 20)])
	lbls := map[string]string{batchv1.ControllerUidLabel: string(uid), batchv1.JobNameLabel: name}
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: uid, Generation: 1, CreationTimestamp: metav1.NewTime(testNow)},
		Spec: batchv1.JobSpec{
			Parallelism:    ptr.To(parallelism),
			Completions:    ptr.To(completions),
			BackoffLimit:   ptr.To[int32](6),
			CompletionMode: ptr.To(batchv1.NonIndexedCompletion),
			Selector:       &metav1.LabelSelector{MatchLabels: map[string]string{batchv1.ControllerUidLabel: string(uid)}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbls},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: "worker", Image: "busybox"}},
				},
			},
			PodReplacementPolicy: ptr.To(batchv1.TerminatingOrFailed),
		},
	}
	for _, o := range opts {
		o(j)
	}
	return j
}

func workQueue(j *batchv1.Job)     { j.Spec.Completions = nil }
func indexedJob(j *batchv1.Job)    { j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion) }
func suspended(j *batchv1.Job)     { j.Spec.Suspend = ptr.To(true) }
func onFailure(j *batchv1.Job)     { j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure }
func replaceFailed(j *batchv1.Job) { j.Spec.PodReplacementPolicy = ptr.To(batchv1.Failed) }
func backoffLimit(n int32) jobOpt {
	return func(j *batchv1.Job) { j.Spec.BackoffLimit = ptr.To(n) }
}
func perIndex(limit int32, maxFailed *int32) jobOpt {
	return func(j *batchv1.Job) {
		indexedJob(j)
		j.Spec.BackoffLimitPerIndex = ptr.To(limit)
		j.Spec.MaxFailedIndexes = maxFailed
		j.Spec.BackoffLimit = nil
		j.Spec.PodReplacementPolicy = ptr.To(batchv1.Failed)
	}
}
func deadline(s int64) jobOpt {
	return func(j *batchv1.Job) { j.Spec.ActiveDeadlineSeconds = ptr.To(s) }
}
func started(at time.Time) jobOpt {
	return func(j *batchv1.Job) { j.Status.StartTime = &metav1.Time{Time: at} }
}
func withStatus(fn func(*batchv1.JobStatus)) jobOpt { return func(j *batchv1.Job) { fn(&j.Status) } }
func withPolicy(rules ...batchv1.PodFailurePolicyRule) jobOpt {
	return func(j *batchv1.Job) {
		j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: rules}
		j.Spec.PodReplacementPolicy = ptr.To(batchv1.Failed)
	}
}
func withCondition(t batchv1.JobConditionType, status corev1.ConditionStatus, reason, msg string) jobOpt {
	return func(j *batchv1.Job) {
		j.Status.Conditions = append(j.Status.Conditions, *newCondition(t, status, reason, msg, testNow))
	}
}

type podOpt func(*corev1.Pod)

// newPod returns a pod of job (with the tracking finalizer) named name.
func newPod(job *batchv1.Job, name string, phase corev1.PodPhase, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: job.Namespace, UID: types.UID("uid-" + name),
			Labels:            map[string]string{},
			Annotations:       map[string]string{},
			Finalizers:        []string{batchv1.JobTrackingFinalizer},
			OwnerReferences:   []metav1.OwnerReference{*controllerRef(job)},
			CreationTimestamp: metav1.NewTime(testNow),
			ResourceVersion:   "1",
		},
		Spec:   corev1.PodSpec{NodeName: "node"},
		Status: corev1.PodStatus{Phase: phase},
	}
	for k, v := range job.Spec.Template.Labels {
		p.Labels[k] = v
	}
	if phase == corev1.PodSucceeded || phase == corev1.PodFailed {
		code := int32(0)
		if phase == corev1.PodFailed {
			code = 1
		}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "worker", State: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{ExitCode: code, FinishedAt: metav1.NewTime(testNow)}}}}
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func index(i int) podOpt {
	return func(p *corev1.Pod) {
		v := fmt.Sprint(i)
		p.Labels[batchv1.JobCompletionIndexAnnotation] = v
		p.Annotations[batchv1.JobCompletionIndexAnnotation] = v
	}
}
func failureCount(n int) podOpt {
	return func(p *corev1.Pod) { p.Annotations[batchv1.JobIndexFailureCountAnnotation] = fmt.Sprint(n) }
}
func exitCode(code int32) podOpt {
	return func(p *corev1.Pod) { p.Status.ContainerStatuses[0].State.Terminated.ExitCode = code }
}
func finishedAt(t time.Time) podOpt {
	return func(p *corev1.Pod) {
		for i := range p.Status.ContainerStatuses {
			if p.Status.ContainerStatuses[i].State.Terminated != nil {
				p.Status.ContainerStatuses[i].State.Terminated.FinishedAt = metav1.NewTime(t)
			}
		}
	}
}
func ready(p *corev1.Pod) {
	p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue})
}
func deleting(p *corev1.Pod) {
	p.DeletionTimestamp = &metav1.Time{Time: testNow}
	p.DeletionGracePeriodSeconds = ptr.To[int64](30)
}
func noFinalizer(p *corev1.Pod) { p.Finalizers = nil }
func restarts(n int32) podOpt {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: "worker", RestartCount: n})
	}
}
func condition(t corev1.PodConditionType) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue})
	}
}
func createdAt(t time.Time) podOpt {
	return func(p *corev1.Pod) { p.CreationTimestamp = metav1.NewTime(t) }
}
func unscheduled(p *corev1.Pod) { p.Spec.NodeName = "" }

// pods makes n pods of job named <prefix><i>.
func pods(job *batchv1.Job, prefix string, n int, phase corev1.PodPhase, opts ...podOpt) []*corev1.Pod {
	var out []*corev1.Pod
	for i := range n {
		out = append(out, newPod(job, fmt.Sprintf("%s%d", prefix, i), phase, opts...))
	}
	return out
}

// condSummary renders conditions as "Type=Status/Reason".
func condSummary(conds []batchv1.JobCondition) string {
	var parts []string
	for _, c := range conds {
		parts = append(parts, fmt.Sprintf("%s=%s/%s", c.Type, c.Status, c.Reason))
	}
	return strings.Join(parts, ",")
}

// countReasons counts events by reason.
func countReasons(events []string) map[string]int {
	m := map[string]int{}
	for _, e := range events {
		if fs := strings.Fields(e); len(fs) >= 2 {
			m[fs[1]]++
		}
	}
	return m
}
