package kvindex

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/kjet-dev/kjet/internal/storage"
)

// history is a ring buffer of the most recent events, in revision order. Every event
// with a revision greater than compacted is in it. It holds pointers: the events are
// shared with the watchers they were sent to, and a slot costs 8 bytes until used.
type history struct {
	events    []*storage.Event
	start     int // index of the oldest event
	n         int // number of events held
	compacted int64
}

func newHistory(size int) history {
	return history{events: make([]*storage.Event, size)}
}

func (h *history) reset(rev int64) {
	clear(h.events)
	h.start, h.n, h.compacted = 0, 0, rev
}

func (h *history) at(i int) *storage.Event {
	return h.events[(h.start+i)%len(h.events)]
}

func (h *history) add(ev *storage.Event) {
	if h.n == len(h.events) {
		h.compacted = h.events[h.start].KV.ModRevision
		h.events[h.start] = ev
		h.start = (h.start + 1) % len(h.events)
		return
	}
	h.events[(h.start+h.n)%len(h.events)] = ev
	h.n++
}

// since returns the held events under prefix with a revision greater than after.
func (h *history) since(prefix string, after int64) []*storage.Event {
	first := sort.Search(h.n, func(i int) bool { return h.at(i).KV.ModRevision > after })
	var out []*storage.Event
	for i := first; i < h.n; i++ {
		if ev := h.at(i); strings.HasPrefix(ev.KV.Key, prefix) {
			out = append(out, ev)
		}
	}
	return out
}

// watcher is one Watch call's subscription.
type watcher struct {
	prefix string
	after  int64
	ch     chan *storage.Event
	// stop releases the context.AfterFunc that removes the watcher when its ctx ends.
	stop func() bool
}

// Watch streams every change under prefix with a revision greater than afterRevision:
// first the matching events still in the history, then live ones, in revision order.
// afterRevision 0 means from the current revision on. It returns storage.ErrCompacted
// (wrapped) if events after afterRevision have already left the history. The channel is
// closed when ctx ends, when the index closes, or when the receiver lets the buffer fill.
func (idx *Index) Watch(ctx context.Context, prefix string, afterRevision int64) (<-chan *storage.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	idx.mu.Lock()
	defer idx.mu.Unlock()
	if idx.closed {
		return nil, storage.ErrClosed
	}
	if afterRevision == 0 {
		afterRevision = idx.rev
	}
	if afterRevision < idx.history.compacted {
		return nil, fmt.Errorf("watch %q after revision %d: oldest revision still available is %d: %w",
			prefix, afterRevision, idx.history.compacted+1, storage.ErrCompacted)
	}
	replay := idx.history.since(prefix, afterRevision)
	w := &watcher{
		prefix: prefix,
		after:  afterRevision,
		ch:     make(chan *storage.Event, len(replay)+idx.opts.WatchBuffer),
	}
	for _, ev := range replay {
		w.ch <- ev
	}
	idx.watchers[w] = struct{}{}
	w.stop = context.AfterFunc(ctx, func() {
		idx.mu.Lock()
		defer idx.mu.Unlock()
		idx.removeLocked(w)
	})
	return w.ch, nil
}

// fanOutLocked sends ev to every watcher it concerns, dropping watchers that are full.
func (idx *Index) fanOutLocked(ev *storage.Event) {
	for w := range idx.watchers {
		if ev.KV.ModRevision <= w.after || !strings.HasPrefix(ev.KV.Key, w.prefix) {
			continue
		}
		select {
		case w.ch <- ev:
		default:
			// The receiver fell too far behind: end its watch rather than make the
			// writer wait. It restarts from the last revision it saw.
			idx.removeLocked(w)
		}
	}
}

// removeLocked ends w's watch if it is still registered.
func (idx *Index) removeLocked(w *watcher) {
	if _, ok := idx.watchers[w]; !ok {
		return
	}
	delete(idx.watchers, w)
	if w.stop != nil {
		w.stop()
	}
	close(w.ch)
}

// Watchers is the number of live watches (for tests and metrics).
func (idx *Index) Watchers() int {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	return len(idx.watchers)
}
