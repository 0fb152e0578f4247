package agent

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// Crash-loop back-off, per pod and container (spec §6.3): the first restart after a
// failure is immediate, later ones wait 10 s, 20 s, 40 s … capped at 300 s, measured
// from the container's finishedAt; a container that has not failed for 10 minutes
// starts over.
const (
	backoffInitial = 10 * time.Second
	backoffMax     = 300 * time.Second
	backoffReset   = 2 * backoffMax
)

// restartBackoff remembers one container's recent restarts.
type restartBackoff struct {
	// restarts counts restarts since the last reset.
	restarts int
	// lastExit is the finishedAt of the exit that caused the last restart.
	lastExit time.Time
}

// next returns how long after finishedAt the next restart may happen, and records it.
func (b *restartBackoff) next(finishedAt time.Time) time.Duration {
	if b.restarts > 0 && finishedAt.Sub(b.lastExit) >= backoffReset {
		b.restarts = 0
	}
	d := backoffDelay(b.restarts)
	b.restarts++
	b.lastExit = finishedAt
	return d
}

// backoffDelay is the wait before restart number n+1 (n restarts already done).
func backoffDelay(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	d := backoffInitial
	for i := 1; i < n; i++ {
		d *= 2
		if d >= backoffMax {
			return backoffMax
		}
	}
	return d
}

// crashLoopMessage is the waiting message of a container in back-off.
func crashLoopMessage(d time.Duration, container, pod, namespace string, uid types.UID) string {
	return fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", d, container, pod, namespace, uid)
}

// containerID names one attempt of a container on this node, stable across restarts of
// kjet so that Runtime.List finds it again.
func containerID(uid types.UID, container string, attempt int) string {
	return fmt.Sprintf("%s_%s_%d", uid, container, attempt)
}

// containerIDPrefix is how container IDs appear in pod status.
const containerIDPrefix = "kjet://"
