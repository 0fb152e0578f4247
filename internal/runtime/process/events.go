package process

import (
	"context"

	"github.com/kjet-dev/kjet/internal/runtime"
)

// maxBacklog bounds the exits kept for a subscriber that has not come yet.
const maxBacklog = 10000

// maxExitedRecords bounds the final records kept for exited containers that were
// not removed yet (about 1 KiB each); past it, their Status asks the supervisor.
const maxExitedRecords = 10000

// subscriber is one Exited channel's queue.
type subscriber struct {
	queue  []string      // guarded by Runtime.mu
	notify chan struct{} // capacity 1: the queue grew
}

// Exited implements runtime.Runtime. Every container that exits is delivered once
// to each channel open at the time; exits that happened while no channel was open
// (including while no kjet server was connected to the supervisor) are delivered to
// the first channel opened. Containers that fail to start are delivered too. The
// channel is closed when ctx ends or the Runtime is closed.
func (r *Runtime) Exited(ctx context.Context) <-chan string {
	out := make(chan string)
	sub := &subscriber{notify: make(chan struct{}, 1)}
	r.mu.Lock()
	if len(r.subs) == 0 && len(r.backlog) > 0 {
		sub.queue, r.backlog = r.backlog, nil
		sub.notify <- struct{}{}
	}
	r.subs[sub] = struct{}{}
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer close(out)
		defer func() {
			r.mu.Lock()
			delete(r.subs, sub)
			r.mu.Unlock()
		}()
		for {
			r.mu.Lock()
			var id string
			have := len(sub.queue) > 0
			if have {
				id, sub.queue = sub.queue[0], sub.queue[1:]
			}
			r.mu.Unlock()
			if !have {
				select {
				case <-sub.notify:
					continue
				case <-ctx.Done():
					return
				case <-r.ctx.Done():
					return
				}
			}
			select {
			case out <- id:
			case <-ctx.Done():
				return
			case <-r.ctx.Done():
				return
			}
		}
	}()
	return out
}

// deliver hands an exit event to every subscriber. rec is the container's final
// record when the supervisor sent it (nil from one that does not).
func (r *Runtime) deliver(id string, rec *record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rec != nil && (rec.Status.ID != id || rec.Status.State != runtime.StateExited || len(r.exited) >= maxExitedRecords) {
		rec = nil
	}
	r.exited[id] = rec
	if len(r.subs) == 0 {
		if len(r.backlog) >= maxBacklog {
			r.backlog = r.backlog[1:]
		}
		r.backlog = append(r.backlog, id)
		return
	}
	for sub := range r.subs {
		sub.queue = append(sub.queue, id)
		select {
		case sub.notify <- struct{}{}:
		default:
		}
	}
}

// knownExited reports whether an exit event for id has been seen.
func (r *Runtime) knownExited(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.exited[id]
	return ok
}

// exitedRecord returns the final record an exit event brought for id.
func (r *Runtime) exitedRecord(id string) (record, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.exited[id]
	if rec == nil {
		return record{}, false
	}
	return *rec, true
}

// forgetExited drops what is known of id's exit: the container was removed, or a new
// one with that ID is being started.
func (r *Runtime) forgetExited(id string) {
	r.mu.Lock()
	delete(r.exited, id)
	r.mu.Unlock()
}
