package job

import (
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// syncWindows spaces out the syncs that pod events and status updates cause. Kubernetes
// delays every such sync by its batch period, so a burst of pod changes costs one sync;
// kjet keeps that bound (a batched sync comes at least a window after the last sync of
// the Job started and ended) but runs the first sync after a quiet window at once, so a
// lone change is not held back by the window.
type syncWindows struct {
	clock  clock.PassiveClock
	window time.Duration

	mu sync.Mutex
	// last is when each Job's most recent sync started or ended, whichever is later.
	last map[string]time.Time
}

func newSyncWindows(c clock.PassiveClock, window time.Duration) *syncWindows {
	return &syncWindows{clock: c, window: window, last: map[string]time.Time{}}
}

// delay is how long a batched sync of key waits: nothing when the Job has not synced
// within the window, else the rest of the window.
func (w *syncWindows) delay(key string) time.Duration {
	w.mu.Lock()
	last, ok := w.last[key]
	w.mu.Unlock()
	if !ok {
		return 0
	}
	if rest := w.window - w.clock.Since(last); rest > 0 {
		return rest
	}
	return 0
}

// synced records that a sync of key starts or ends now.
func (w *syncWindows) synced(key string) {
	w.mu.Lock()
	w.last[key] = w.clock.Now()
	w.mu.Unlock()
}

// forget drops key (its Job is gone).
func (w *syncWindows) forget(key string) {
	w.mu.Lock()
	delete(w.last, key)
	w.mu.Unlock()
}
