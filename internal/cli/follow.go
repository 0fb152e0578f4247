package cli

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
)

// jobUIDLabel is the label the API server puts on every pod of a Job.
const jobUIDLabel = "batch.kubernetes.io/controller-uid"

// backoffEventReason is the Normal event the Job controller records when a replacement
// pod is held back by the failure back-off.
const backoffEventReason = "BackoffWaiting"

// target is one Job or Pod that kjet run follows to its end.
type target struct {
	kind      string // "Job" or "Pod"
	namespace string
	name      string
	uid       types.UID
}

// follower watches the targets through informers and reports changes on a channel.
type follower struct {
	client  kubernetes.Interface
	targets []target
	clock   clock.PassiveClock

	jobs   map[string]cacheLister // namespace -> job lister
	pods   map[string]cacheLister
	events map[string]cacheLister
	// factories are the started informer factories, shut down by shutdown.
	factories []informers.SharedInformerFactory

	changed chan struct{}
}

// cacheLister is the part of an informer the follower reads.
type cacheLister interface {
	List() []interface{}
}

func newFollower(client kubernetes.Interface, targets []target, clk clock.PassiveClock) *follower {
	return &follower{
		client:  client,
		targets: targets,
		clock:   clk,
		jobs:    map[string]cacheLister{},
		pods:    map[string]cacheLister{},
		events:  map[string]cacheLister{},
		changed: make(chan struct{}, 1),
	}
}

// start runs one informer factory per namespace until ctx ends and waits for the caches.
// Once ctx has ended, shutdown waits for the informers to stop.
func (f *follower) start(ctx context.Context) error {
	namespaces := map[string]bool{}
	for _, t := range f.targets {
		namespaces[t.namespace] = true
	}
	notify := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(interface{}) { f.poke() },
		UpdateFunc: func(interface{}, interface{}) { f.poke() },
		DeleteFunc: func(interface{}) { f.poke() },
	}
	var synced []cache.DoneChecker
	for ns := range namespaces {
		factory := informers.NewSharedInformerFactoryWithOptions(f.client, 0, informers.WithNamespace(ns))
		for _, inf := range []struct {
			informer cache.SharedIndexInformer
			into     map[string]cacheLister
		}{
			{factory.Batch().V1().Jobs().Informer(), f.jobs},
			{factory.Core().V1().Pods().Informer(), f.pods},
			{factory.Core().V1().Events().Informer(), f.events},
		} {
			if _, err := inf.informer.AddEventHandler(notify); err != nil {
				return fmt.Errorf("watching namespace %s: %w", ns, err)
			}
			inf.into[ns] = inf.informer.GetStore()
			synced = append(synced, inf.informer.HasSyncedChecker())
		}
		factory.Start(ctx.Done())
		f.factories = append(f.factories, factory)
	}
	if !cache.WaitFor(ctx, "", synced...) {
		return fmt.Errorf("waiting for the API server's caches: %w", ctx.Err())
	}
	f.poke()
	return nil
}

// shutdown waits until the informers that start started have stopped (their
// watches closed); the context given to start must have ended.
func (f *follower) shutdown() {
	for _, factory := range f.factories {
		factory.Shutdown()
	}
}

func (f *follower) poke() {
	select {
	case f.changed <- struct{}{}:
	default:
	}
}

// jobView is what kjet run knows about one Job at a moment.
type jobView struct {
	target
	job         *batchv1.Job // nil once deleted
	pods        []*corev1.Pod
	backoffNote string
}

// finished reports whether the Job reached Complete or Failed, and whether it failed.
func (v jobView) finished() (done, failed bool) {
	if v.job == nil {
		return true, true
	}
	for _, c := range v.job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return true, false
		case batchv1.JobFailed:
			return true, true
		}
	}
	return false, false
}

// podView is a standalone Pod target.
type podView struct {
	target
	pod *corev1.Pod
}

func (v podView) finished() (done, failed bool) {
	if v.pod == nil {
		return true, true
	}
	switch v.pod.Status.Phase {
	case corev1.PodSucceeded:
		return true, false
	case corev1.PodFailed:
		return true, true
	}
	return false, false
}

// snapshot reads the current state of every target from the caches.
func (f *follower) snapshot() ([]jobView, []podView) {
	var jobs []jobView
	var pods []podView
	for _, t := range f.targets {
		switch t.kind {
		case "Job":
			v := jobView{target: t}
			for _, o := range f.jobs[t.namespace].List() {
				if j := o.(*batchv1.Job); j.UID == t.uid {
					v.job = j
				}
			}
			selector := labels.SelectorFromSet(labels.Set{jobUIDLabel: string(t.uid)})
			for _, o := range f.pods[t.namespace].List() {
				if p := o.(*corev1.Pod); selector.Matches(labels.Set(p.Labels)) {
					v.pods = append(v.pods, p)
				}
			}
			sort.Slice(v.pods, func(i, j int) bool {
				return v.pods[i].CreationTimestamp.Before(&v.pods[j].CreationTimestamp) ||
					(v.pods[i].CreationTimestamp.Equal(&v.pods[j].CreationTimestamp) && v.pods[i].Name < v.pods[j].Name)
			})
			v.backoffNote = f.latestBackoffNote(t)
			jobs = append(jobs, v)
		case "Pod":
			v := podView{target: t}
			for _, o := range f.pods[t.namespace].List() {
				if p := o.(*corev1.Pod); p.UID == t.uid {
					v.pod = p
				}
			}
			pods = append(pods, v)
		}
	}
	return jobs, pods
}

// latestBackoffNote returns the message of the newest back-off event of the Job if no
// pod was created after it (the wait is still on), else "".
func (f *follower) latestBackoffNote(t target) string {
	var newest *corev1.Event
	var lastCreate time.Time
	for _, o := range f.events[t.namespace].List() {
		e := o.(*corev1.Event)
		if e.InvolvedObject.UID != t.uid {
			continue
		}
		when := eventTime(e)
		switch e.Reason {
		case backoffEventReason:
			if newest == nil || when.After(eventTime(newest)) {
				newest = e
			}
		case "SuccessfulCreate":
			if when.After(lastCreate) {
				lastCreate = when
			}
		}
	}
	if newest == nil || !eventTime(newest).After(lastCreate) {
		return ""
	}
	return newest.Message
}

func eventTime(e *corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

// logStreamer follows the logs of every container attempt of the targets' pods, once each.
type logStreamer struct {
	client kubernetes.Interface
	lines  chan<- logLine

	mu      sync.Mutex // guards started
	started map[string]bool
	wg      sync.WaitGroup
}

// logLine is one line of a container's output.
type logLine struct {
	pod       string
	container string
	attempt   int32
	text      string
	multi     bool // the pod has several containers: show the container name
}

// observe starts a log stream for each container attempt of pod that has started.
func (s *logStreamer) observe(ctx context.Context, pod *corev1.Pod) {
	statuses := append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	multi := len(pod.Spec.Containers)+len(pod.Spec.InitContainers) > 1
	for _, cs := range statuses {
		if cs.State.Running == nil && cs.State.Terminated == nil {
			continue
		}
		key := fmt.Sprintf("%s/%s/%d", pod.UID, cs.Name, cs.RestartCount)
		s.mu.Lock()
		seen := s.started[key]
		s.started[key] = true
		s.mu.Unlock()
		if seen {
			continue
		}
		s.wg.Add(1)
		go func(ns, name, container string, attempt int32) {
			defer s.wg.Done()
			s.stream(ctx, ns, name, container, attempt, multi)
		}(pod.Namespace, pod.Name, cs.Name, cs.RestartCount+1)
	}
}

func (s *logStreamer) stream(ctx context.Context, ns, pod, container string, attempt int32, multi bool) {
	req := s.client.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: container, Follow: true})
	rc, err := req.Stream(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.send(ctx, logLine{pod: pod, container: container, attempt: attempt, multi: multi, text: fmt.Sprintf("(logs unavailable: %v)", err)})
		}
		return
	}
	defer rc.Close()
	scanLines(rc, func(text string) {
		s.send(ctx, logLine{pod: pod, container: container, attempt: attempt, multi: multi, text: text})
	})
}

func (s *logStreamer) send(ctx context.Context, l logLine) {
	select {
	case s.lines <- l:
	case <-ctx.Done():
	}
}

// wait waits for the running streams to end, at most until the deadline passes.
func (s *logStreamer) wait(timeout time.Duration) {
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
	}
}
