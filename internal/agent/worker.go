package agent

import (
	"context"
	"errors"
	"os"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	"github.com/kjet-dev/kjet/internal/podlogs"
	"github.com/kjet-dev/kjet/internal/runtime"
)

// containerKind says how a container takes part in the pod's life.
type containerKind int

const (
	kindInit    containerKind = iota // runs to completion before the app containers
	kindSidecar                      // init container with restartPolicy Always
	kindApp                          // regular container
)

// containerRecord is the agent's view of one container of the pod across attempts.
// Only the pod's worker goroutine touches it.
type containerRecord struct {
	name string
	kind containerKind
	// attempt is the number of the latest attempt (0 first); meaningless while cur is nil.
	attempt int
	// cur is the latest attempt; prev the one before it (the pod's lastState).
	cur, prev *runtime.ContainerStatus
	// decided is set once the exit of cur has been acted on (restart planned or not).
	decided bool
	// final: cur has exited and will not be restarted.
	final bool
	// restartAt is when the next attempt may start; zero when none is planned.
	restartAt time.Time
	// backoffFor is the delay restartAt was computed with (for the waiting message).
	backoffFor time.Duration
	backoff    restartBackoff
	// waitReason/waitMessage describe why a container that is not running waits.
	waitReason, waitMessage string
	// retryAt is when to retry a container that could not be configured.
	retryAt time.Time
	// probes run while cur runs; nil without probes.
	probes *containerProbes
}

func (r *containerRecord) running() bool {
	return r.cur != nil && r.cur.State == runtime.StateRunning
}

func (r *containerRecord) exited() bool {
	return r.cur != nil && r.cur.State == runtime.StateExited
}

// podWorker runs one pod. The agent's informer handlers and exit dispatcher talk to it
// through the mutex-guarded inbox; everything else belongs to its goroutine.
type podWorker struct {
	a   *Agent
	uid types.UID

	mu sync.Mutex // guards the inbox: pod, gone, exits, probeResults
	// pod is the latest version seen by the informer.
	pod *corev1.Pod
	// gone is set when the pod left the API.
	gone bool
	// exits holds container IDs reported exited and not handled yet.
	exits map[string]struct{}
	// probeResults holds the latest probe verdicts by container and probe kind.
	probeResults map[probeKey]bool
	// wake is signalled (without blocking) whenever the inbox changes.
	wake chan struct{}

	// The rest belongs to the worker goroutine.
	dir         string
	recs        map[string]*containerRecord
	volumes     map[string]string
	startTime   time.Time
	sandboxed   bool
	initialized bool
	// terminal is set once the pod reached Succeeded or Failed; phase, reason and
	// message are then fixed.
	terminal        bool
	phase           corev1.PodPhase
	reason, message string
	// adoptedTerminal: the API already showed the pod terminal when the worker started;
	// its status is left as it is.
	adoptedTerminal bool
	// deleteSent: the status manager was asked to delete the pod from the API.
	deleteSent bool
	// lastQueued is the latest status handed to the status manager.
	lastQueued *corev1.PodStatus
	timer      clock.Timer
	timerAt    time.Time
	again      bool
	// startedRunning: this pass started a container that is running.
	startedRunning bool
}

func newPodWorker(a *Agent, pod *corev1.Pod, adopted []runtime.ContainerStatus) *podWorker {
	w := &podWorker{
		a:            a,
		uid:          pod.UID,
		pod:          pod,
		exits:        map[string]struct{}{},
		probeResults: map[probeKey]bool{},
		wake:         make(chan struct{}, 1),
		dir:          a.podDir(pod),
		recs:         map[string]*containerRecord{},
	}
	for _, c := range pod.Spec.InitContainers {
		kind := kindInit
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			kind = kindSidecar
		}
		w.recs[c.Name] = &containerRecord{name: c.Name, kind: kind}
	}
	for _, c := range pod.Spec.Containers {
		w.recs[c.Name] = &containerRecord{name: c.Name, kind: kindApp}
	}
	if pod.Status.StartTime != nil {
		w.startTime = pod.Status.StartTime.Time
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		w.terminal, w.adoptedTerminal = true, true
		w.phase, w.reason, w.message = pod.Status.Phase, pod.Status.Reason, pod.Status.Message
	}
	w.adopt(pod, adopted)
	return w
}

// adopt takes over containers that ran before a restart of kjet: the latest attempt of
// each container becomes current, the one before it the last state.
func (w *podWorker) adopt(pod *corev1.Pod, adopted []runtime.ContainerStatus) {
	sort.Slice(adopted, func(i, j int) bool { return adopted[i].Config.Attempt < adopted[j].Config.Attempt })
	for i := range adopted {
		st := adopted[i]
		rec := w.recs[st.Config.ContainerName]
		if rec == nil {
			continue
		}
		if rec.cur != nil {
			rec.prev = rec.cur
		}
		rec.cur, rec.attempt = &st, st.Config.Attempt
		if st.State == runtime.StateRunning {
			// It may have exited between the agent's List and now: look again.
			w.exits[st.ID] = struct{}{}
		}
		rec.backoff = restartBackoff{restarts: st.Config.Attempt}
		if rec.prev != nil {
			rec.backoff.lastExit = rec.prev.FinishedAt
		}
		w.sandboxed = true
	}
	// A container the API saw started but the runtime no longer knows must not run
	// again as if new: report it lost, as the kubelet does.
	statuses := append(append([]corev1.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	for _, cs := range statuses {
		rec := w.recs[cs.Name]
		if rec == nil || rec.cur != nil || w.terminal {
			continue
		}
		if cs.State.Running == nil && cs.State.Terminated == nil && cs.LastTerminationState.Terminated == nil {
			continue
		}
		lost := runtime.ContainerStatus{
			ID:         containerID(pod.UID, cs.Name, int(cs.RestartCount)),
			Config:     runtime.ContainerConfig{ContainerName: cs.Name, Attempt: int(cs.RestartCount)},
			State:      runtime.StateExited,
			ExitCode:   137,
			Reason:     "ContainerStatusUnknown",
			Message:    "The container could not be located when the pod was terminated",
			FinishedAt: w.a.clock.Now(),
		}
		if t := cs.State.Terminated; t != nil {
			lost.ExitCode, lost.Reason, lost.Message = int(t.ExitCode), t.Reason, t.Message
			lost.StartedAt, lost.FinishedAt = t.StartedAt.Time, t.FinishedAt.Time
		} else if r := cs.State.Running; r != nil {
			lost.StartedAt = r.StartedAt.Time
		}
		rec.cur, rec.attempt = &lost, int(cs.RestartCount)
		rec.backoff = restartBackoff{restarts: int(cs.RestartCount)}
	}
}

func (w *podWorker) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// update hands the worker a newer version of the pod.
func (w *podWorker) update(pod *corev1.Pod) {
	w.mu.Lock()
	w.pod = pod
	w.mu.Unlock()
	w.signal()
}

// markGone tells the worker the pod left the API.
func (w *podWorker) markGone(pod *corev1.Pod) {
	w.mu.Lock()
	w.pod, w.gone = pod, true
	w.mu.Unlock()
	w.signal()
}

// containerExited tells the worker one of its containers exited.
func (w *podWorker) containerExited(id string) {
	w.mu.Lock()
	w.exits[id] = struct{}{}
	w.mu.Unlock()
	w.signal()
}

func (w *podWorker) exitsPending() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.exits) > 0
}

func (w *podWorker) takeInbox() (*corev1.Pod, bool, []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ids := make([]string, 0, len(w.exits))
	for id := range w.exits {
		ids = append(ids, id)
	}
	clear(w.exits)
	return w.pod, w.gone, ids
}

// run syncs the pod whenever something changes until the pod is gone or ctx ends.
// Containers keep running when ctx ends: the next agent finds them again.
func (w *podWorker) run(ctx context.Context) {
	defer w.stopAllProbes()
	defer func() {
		if w.timer != nil {
			w.timer.Stop()
		}
	}()
	for {
		if done := w.sync(ctx); done {
			return
		}
		if w.again {
			w.again = false
			continue
		}
		var timerC <-chan time.Time
		if w.timer != nil {
			timerC = w.timer.C()
		}
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-timerC:
			w.timer, w.timerAt = nil, time.Time{}
		}
	}
}

// awaitChange waits up to d for news in the inbox and reports whether any came.
func (w *podWorker) awaitChange(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return false
	}
	t := w.a.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-w.wake:
		return true
	case <-t.C():
		return false
	case <-ctx.Done():
		return false
	}
}

// wakeAt makes sure the worker syncs again no later than t.
func (w *podWorker) wakeAt(t time.Time) {
	if t.IsZero() {
		return
	}
	if w.timer != nil && !w.timerAt.After(t) {
		return
	}
	if w.timer != nil {
		w.timer.Stop()
	}
	d := t.Sub(w.a.clock.Now())
	if d < 0 {
		d = 0
	}
	w.timer, w.timerAt = w.a.clock.NewTimer(d), t
}

// sync is one pass over the pod: absorb exits, handle deletion, deadline, start and
// restart containers, decide the phase, write status. It returns true when the pod is
// gone and the worker should end.
func (w *podWorker) sync(ctx context.Context) bool {
	pod, gone, exits := w.takeInbox()
	for _, id := range exits {
		w.refresh(ctx, id)
	}
	if gone {
		w.teardown(ctx, pod)
		return true
	}
	if ctx.Err() != nil {
		return false
	}
	switch {
	case w.terminal:
		if !w.allStopped() {
			// Left running by an agent that stopped half-way through ending the pod.
			w.killAll(ctx, pod, gracePeriod(pod), "")
		}
	case pod.DeletionTimestamp != nil:
		w.killAll(ctx, pod, gracePeriod(pod), "")
		w.finish(pod, "", "")
	default:
		w.runPod(ctx, pod)
	}
	if w.exitsPending() || (w.startedRunning && w.awaitChange(ctx, w.a.opts.StartedStatusDelay)) {
		// A container already exited again: fold that into this status write.
		w.startedRunning = false
		w.again = true
		return false
	}
	w.startedRunning = false
	w.queueStatus(pod)
	return false
}

// runPod moves a live pod forward.
func (w *podWorker) runPod(ctx context.Context, pod *corev1.Pod) {
	now := w.a.clock.Now()
	if !w.sandboxed {
		if err := podlogs.MakeDir(w.dir); err != nil {
			w.a.log.Error("creating pod directory", "pod", pod.Namespace+"/"+pod.Name, "err", err)
			w.wakeAt(now.Add(w.a.opts.ConfigRetryInterval))
			return
		}
		w.sandboxed = true
	}
	if w.startTime.IsZero() {
		w.startTime = now
	}
	if d := pod.Spec.ActiveDeadlineSeconds; d != nil {
		deadline := w.startTime.Add(time.Duration(*d) * time.Second)
		if !now.Before(deadline) {
			w.a.recorder.Event(pod, corev1.EventTypeNormal, "DeadlineExceeded", "Pod was active on the node longer than the specified deadline")
			w.killAll(ctx, pod, gracePeriod(pod), "")
			w.finishFailed("DeadlineExceeded", "Pod was active on the node longer than the specified deadline")
			return
		}
		w.wakeAt(deadline)
	}
	if w.volumes == nil {
		vols, err := prepareVolumes(ctx, newSourceReader(w.a.client, pod.Namespace), pod, w.dir)
		if err != nil {
			w.a.recorder.Event(pod, corev1.EventTypeWarning, "FailedMount", err.Error())
			w.wakeAt(now.Add(w.a.opts.ConfigRetryInterval))
			return
		}
		w.volumes = vols
	}
	w.applyProbeResults(ctx, pod)
	w.advance(ctx, pod)
	w.decideTerminal(ctx, pod)
}

// finish makes the pod terminal after deletion: Succeeded only if every app container
// exited 0.
func (w *podWorker) finish(_ *corev1.Pod, reason, message string) {
	phase := corev1.PodSucceeded
	for _, r := range w.recs {
		if r.kind != kindApp {
			continue
		}
		if !r.exited() || r.cur.ExitCode != 0 {
			phase = corev1.PodFailed
		}
	}
	w.terminal, w.phase, w.reason, w.message = true, phase, reason, message
	w.clearRestarts()
}

func (w *podWorker) finishFailed(reason, message string) {
	w.terminal, w.phase, w.reason, w.message = true, corev1.PodFailed, reason, message
	w.clearRestarts()
}

func (w *podWorker) clearRestarts() {
	for _, r := range w.recs {
		r.restartAt, r.retryAt = time.Time{}, time.Time{}
		if r.exited() {
			r.decided, r.final = true, true
		}
	}
}

func (w *podWorker) allStopped() bool {
	for _, r := range w.recs {
		if r.running() {
			return false
		}
	}
	return true
}

// gracePeriod is how long containers get between SIGTERM and SIGKILL.
func gracePeriod(pod *corev1.Pod) time.Duration {
	if pod.DeletionGracePeriodSeconds != nil {
		return time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	}
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return 30 * time.Second
}

// killAll stops every running container with the grace period, all at once, and
// records how they ended.
func (w *podWorker) killAll(ctx context.Context, pod *corev1.Pod, grace time.Duration, only string) {
	var wg sync.WaitGroup
	var stopped []*containerRecord
	for _, r := range w.recs {
		if !r.running() || (only != "" && r.name != only) {
			continue
		}
		w.stopProbes(r)
		stopped = append(stopped, r)
		w.a.recorder.Eventf(pod, corev1.EventTypeNormal, "Killing", "Stopping container %s", r.name)
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			if err := w.a.rt.Stop(ctx, id, grace); err != nil && !errors.Is(err, runtime.ErrNotFound) && ctx.Err() == nil {
				w.a.log.Warn("stopping container", "container", id, "err", err)
			}
		}(r.cur.ID)
	}
	wg.Wait()
	for _, r := range stopped {
		w.refresh(ctx, r.cur.ID)
	}
}

// refresh reads a container's status from the runtime after it exited.
func (w *podWorker) refresh(ctx context.Context, id string) {
	var rec *containerRecord
	for _, r := range w.recs {
		if r.cur != nil && r.cur.ID == id {
			rec = r
		}
	}
	if rec == nil || rec.exited() {
		return
	}
	st, err := w.a.rt.Status(ctx, id)
	if err != nil {
		if errors.Is(err, runtime.ErrNotFound) {
			st = *rec.cur
			st.State, st.ExitCode, st.Reason, st.FinishedAt = runtime.StateExited, 137, "ContainerStatusUnknown", w.a.clock.Now()
		} else {
			w.a.log.Warn("reading container status", "container", id, "err", err)
			return
		}
	}
	if st.State != runtime.StateExited {
		return
	}
	w.stopProbes(rec)
	rec.cur = &st
	rec.decided, rec.final = false, false
}

// teardown runs when the pod left the API: stop what still runs, forget the containers
// and remove the pod's directory.
func (w *podWorker) teardown(ctx context.Context, pod *corev1.Pod) {
	w.a.statuses.forget(w.uid)
	if ctx.Err() != nil {
		return
	}
	w.killAll(ctx, pod, gracePeriod(pod), "")
	for _, r := range w.recs {
		for _, st := range []*runtime.ContainerStatus{r.prev, r.cur} {
			if st == nil {
				continue
			}
			if err := w.a.rt.Remove(ctx, st.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
				w.a.log.Warn("removing container", "container", st.ID, "err", err)
			}
			w.a.forgetContainer(st.ID)
		}
	}
	if err := os.RemoveAll(w.dir); err != nil {
		w.a.log.Warn("removing pod directory", "dir", w.dir, "err", err)
	}
}
