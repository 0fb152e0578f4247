package job

import (
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"
)

// backoffRecord is the recreation back-off state of one Job, kept in memory
// only (a restart forgets it, as in Kubernetes): the failures finished after
// the last success and when the latest of them finished.
type backoffRecord struct {
	failuresAfterLastSuccess int32
	lastFailureTime          *time.Time
	// lastFailedPod describes the latest failure for the BackoffWaiting event.
	lastFailedPod string
	lastFailure   string
}

// backoffStore holds the records by Job key, and the failure time each Job's
// BackoffWaiting event was last sent for (so each held-back retry is
// announced once).
type backoffStore struct {
	mu        sync.Mutex // guards records and announced
	records   map[string]backoffRecord
	announced map[string]time.Time
}

func newBackoffStore() *backoffStore {
	return &backoffStore{records: map[string]backoffRecord{}, announced: map[string]time.Time{}}
}

// announce reports whether the retry after the failure at t is still to be
// announced for key, and marks it announced.
func (s *backoffStore) announce(key string, t time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if last, ok := s.announced[key]; ok && last.Equal(t) {
		return false
	}
	s.announced[key] = t
	return true
}

func (s *backoffStore) get(key string) backoffRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records[key]
}

func (s *backoffStore) put(key string, r backoffRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[key] = r
}

func (s *backoffStore) delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.records, key)
	delete(s.announced, key)
}

// next folds newly finished pods into r: a success resets the count, which
// then covers only failures that finished after the latest success.
func (r backoffRecord) next(newSucceeded, newFailed []*corev1.Pod) backoffRecord {
	if len(newSucceeded) == 0 && len(newFailed) == 0 {
		return r
	}
	sortByFinishedTime(newSucceeded)
	sortByFinishedTime(newFailed)
	if len(newSucceeded) > 0 {
		lastSuccess := finishedTime(newSucceeded[len(newSucceeded)-1])
		r.failuresAfterLastSuccess, r.lastFailureTime, r.lastFailedPod, r.lastFailure = 0, nil, "", ""
		var after []*corev1.Pod
		for _, p := range newFailed {
			if finishedTime(p).After(lastSuccess) {
				after = append(after, p)
			}
		}
		newFailed = after
	}
	if len(newFailed) == 0 {
		return r
	}
	last := newFailed[len(newFailed)-1]
	t := finishedTime(last)
	r.failuresAfterLastSuccess += int32(len(newFailed))
	r.lastFailureTime = &t
	r.lastFailedPod = last.Name
	r.lastFailure = failureDescription(last)
	return r
}

// backoffDelay is base·2^(failures-1) capped at maxDelay; 0 for no failures.
func backoffDelay(base, maxDelay time.Duration, failures int32) time.Duration {
	if failures <= 0 {
		return 0
	}
	d := base
	for i := int32(1); i < failures; i++ {
		d *= 2
		if d >= maxDelay {
			return maxDelay
		}
	}
	return min(d, maxDelay)
}

// remaining is how long the next pod creation must still wait.
func remaining(clk clock.PassiveClock, base, maxDelay time.Duration, failures int32, lastFailure *time.Time) time.Duration {
	if failures <= 0 || lastFailure == nil {
		return 0
	}
	d := backoffDelay(base, maxDelay, failures) - clk.Since(*lastFailure)
	return max(d, 0)
}

// remainingForIndex is the back-off left for the index whose last failed pod
// is failed (nil: none).
func (c *Controller) remainingForIndex(failed *corev1.Pod) time.Duration {
	if failed == nil {
		return 0
	}
	t := finishedTime(failed)
	return remaining(c.clock, c.opts.BackoffBase, c.opts.BackoffMax, indexAbsoluteFailureCount(failed)+1, &t)
}

// failureDescription says why pod failed, for events.
func failureDescription(pod *corev1.Pod) string {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses} {
		for _, cs := range list {
			if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
				return fmt.Sprintf("exit code %d", t.ExitCode)
			}
		}
	}
	switch {
	case pod.Status.Reason != "":
		return pod.Status.Reason
	case pod.DeletionTimestamp != nil:
		return "deleted"
	}
	return "failed"
}
