package agent

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/kjet-dev/kjet/internal/workers"
)

// Defaults for the status manager.
const (
	// DefaultStatusWriters is how many pods' statuses are written at once.
	DefaultStatusWriters = 8
	// statusRetryBase and statusRetryMax bound the back-off of a status write (or a
	// final delete) the API refused.
	statusRetryBase, statusRetryMax = 100 * time.Millisecond, 10 * time.Second
	// statusConflictRetries is how many conflicts one write absorbs (re-reading the pod
	// each time) before it backs off.
	statusConflictRetries = 5
	// statusFlushTimeout bounds the writing of what is still queued when the agent stops.
	statusFlushTimeout = 2 * time.Second
)

// statusManager sends pod statuses to the API off the pod workers' goroutines, as the
// kubelet's status manager does. Each pod has at most one write in flight; a status
// queued while an earlier one still waits replaces it, so a status already stale when
// its turn comes (Running for a container that has exited since) is never sent, and the
// latest one always is. A refused write is retried with back-off until it lands or the
// pod is gone. Once a terminal pod's final status is written, the manager deletes the
// pod from the API if its worker asked for that.
type statusManager struct {
	client  kubernetes.Interface
	log     *slog.Logger
	writers int
	queue   workqueue.TypedRateLimitingInterface[types.UID]

	mu sync.Mutex // guards pending
	// pending holds, by pod UID, the latest update not yet taken by a writer.
	pending map[types.UID]*statusUpdate
}

// statusUpdate is what a pod worker wants the API to show for its pod.
type statusUpdate struct {
	// pod is the worker's latest copy of the pod: the base of the write.
	pod *corev1.Pod
	// status is the status to write, built from in for pod; nil writes none.
	status *corev1.PodStatus
	// in is a snapshot of the worker's state, to build the status again against a
	// fresher copy of the pod after a conflict.
	in statusInput
	// delete removes the pod from the API (grace 0, UID precondition) once status, if
	// any, is written.
	delete bool
}

func newStatusManager(client kubernetes.Interface, clk clock.Clock, log *slog.Logger, writers int) *statusManager {
	return &statusManager{
		client:  client,
		log:     log,
		writers: writers,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[types.UID](statusRetryBase, statusRetryMax),
			workqueue.TypedRateLimitingQueueConfig[types.UID]{Clock: clockWithTicker(clk)}),
		pending: map[types.UID]*statusUpdate{},
	}
}

// clockWithTicker returns clk as the workqueue needs it, the real clock if it cannot.
func clockWithTicker(clk clock.Clock) clock.WithTicker {
	if c, ok := clk.(clock.WithTicker); ok {
		return c
	}
	return clock.RealClock{}
}

// run writes statuses until ctx ends, waits for the writers, then flushes what is still
// queued within statusFlushTimeout: whoever watches a pod should see how it ended even
// if the agent stopped right after (the next agent would work it out again, later).
func (m *statusManager) run(ctx context.Context) {
	workers.Run(ctx, []workers.Queue{m.queue}, workers.Loop{Workers: m.writers, Process: m.processNext})

	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), statusFlushTimeout)
	defer cancel()
	m.mu.Lock()
	left := m.pending
	m.pending = map[types.UID]*statusUpdate{}
	m.mu.Unlock()
	for _, u := range left {
		if err := m.sync(flushCtx, u); err != nil {
			m.log.Warn("updating pod on shutdown", "pod", u.pod.Namespace+"/"+u.pod.Name, "err", err)
		}
	}
}

// set queues u for its pod, replacing an update not yet taken by a writer. A delete
// asked for earlier is kept.
func (m *statusManager) set(u *statusUpdate) {
	uid := u.pod.UID
	m.mu.Lock()
	if old := m.pending[uid]; old != nil && old.delete {
		u.delete = true
	}
	m.pending[uid] = u
	m.mu.Unlock()
	m.queue.Add(uid)
}

// forget drops what is queued for a pod that left the API.
func (m *statusManager) forget(uid types.UID) {
	m.mu.Lock()
	delete(m.pending, uid)
	m.mu.Unlock()
	m.queue.Forget(uid)
}

func (m *statusManager) processNext(ctx context.Context) bool {
	uid, quit := m.queue.Get()
	if quit {
		return false
	}
	defer m.queue.Done(uid)
	m.mu.Lock()
	u := m.pending[uid]
	delete(m.pending, uid)
	m.mu.Unlock()
	if u == nil {
		m.queue.Forget(uid)
		return true
	}
	if err := m.sync(ctx, u); err != nil {
		// Keep it, unless a newer one came meanwhile, for the retry or the final flush.
		m.mu.Lock()
		if newer := m.pending[uid]; newer != nil {
			newer.delete = newer.delete || u.delete
		} else {
			m.pending[uid] = u
		}
		m.mu.Unlock()
		if ctx.Err() != nil {
			return true
		}
		m.log.Warn("updating pod", "pod", u.pod.Namespace+"/"+u.pod.Name, "err", err)
		m.queue.AddRateLimited(uid)
		return true
	}
	m.queue.Forget(uid)
	return true
}

// sync writes u's status, then deletes the pod if asked.
func (m *statusManager) sync(ctx context.Context, u *statusUpdate) error {
	if u.status != nil {
		gone, err := m.writeStatus(ctx, u)
		if err != nil || gone {
			return err
		}
	}
	if !u.delete {
		return nil
	}
	uid := u.pod.UID
	err := m.client.CoreV1().Pods(u.pod.Namespace).Delete(ctx, u.pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: new(int64),
		Preconditions:      &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting pod: %w", err)
	}
	return nil
}

// writeStatus sends u's status, building it again against a fresh copy of the pod after
// a conflict. gone reports that the pod left the API.
func (m *statusManager) writeStatus(ctx context.Context, u *statusUpdate) (gone bool, err error) {
	pods := m.client.CoreV1().Pods(u.pod.Namespace)
	cur, status := u.pod, *u.status
	for range statusConflictRetries {
		updated := cur.DeepCopy()
		updated.Status = status
		_, err := pods.UpdateStatus(ctx, updated, metav1.UpdateOptions{})
		switch {
		case err == nil:
			return false, nil
		case apierrors.IsNotFound(err):
			return true, nil
		case !apierrors.IsConflict(err):
			return false, fmt.Errorf("writing pod status: %w", err)
		}
		fresh, err := pods.Get(ctx, u.pod.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) || (err == nil && fresh.UID != u.pod.UID) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("reading pod after a conflict: %w", err)
		}
		cur, status = fresh, buildPodStatus(fresh, u.in)
		if apiequality.Semantic.DeepEqual(fresh.Status, status) {
			return false, nil
		}
	}
	return false, fmt.Errorf("writing pod status: %d conflicts in a row", statusConflictRetries)
}

// queueStatus hands the pod's status to the status manager when it changed, and asks
// for the pod's removal from the API once a terminal pod being deleted has stopped.
func (w *podWorker) queueStatus(pod *corev1.Pod) {
	del := w.terminal && pod.DeletionTimestamp != nil && !w.deleteSent && w.allStopped()
	u := &statusUpdate{pod: pod, delete: del}
	if !w.adoptedTerminal {
		u.in = w.statusInput(pod)
		status := buildPodStatus(pod, u.in)
		changed := !apiequality.Semantic.DeepEqual(pod.Status, status)
		if w.lastQueued != nil && apiequality.Semantic.DeepEqual(*w.lastQueued, status) {
			changed = false
		}
		w.lastQueued = &status
		if changed {
			u.status, u.in = &status, u.in.snapshot()
		}
	}
	if u.status == nil && !u.delete {
		return
	}
	w.deleteSent = w.deleteSent || del
	w.a.statuses.set(u)
}

// snapshot copies the container records, which the worker goes on changing, so that a
// status writer can build the status from them later.
func (in statusInput) snapshot() statusInput {
	recs := make(map[string]*containerRecord, len(in.recs))
	for name, r := range in.recs {
		c := *r
		c.probes = nil
		recs[name] = &c
	}
	in.recs = recs
	return in
}
