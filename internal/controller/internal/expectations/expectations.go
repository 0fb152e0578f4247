// Package expectations remembers the writes a controller has issued but not yet
// seen come back through its informers, so that a sync does not act twice on a
// stale cache. It is the controller-side ledger Kubernetes calls "expectations":
// counts of pending creates/deletes per owner key, and sets of object UIDs whose
// pending update (e.g. a finalizer removal) has not been observed yet.
package expectations

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/utils/clock"
)

// DefaultTTL is how long pending expectations are trusted. After that the owner
// is considered satisfied anyway, so a lost watch event cannot wedge it.
const DefaultTTL = 5 * time.Minute

type counts struct {
	adds, dels int
	setAt      time.Time
}

// Counts tracks pending creations and deletions per owner key.
type Counts struct {
	clock clock.PassiveClock
	ttl   time.Duration

	mu    sync.Mutex // guards byKey
	byKey map[string]*counts
}

// NewCounts returns empty Counts using clk (nil means the real clock) and
// DefaultTTL.
func NewCounts(clk clock.PassiveClock) *Counts {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Counts{clock: clk, ttl: DefaultTTL, byKey: map[string]*counts{}}
}

// ExpectCreations records that n creations for key are in flight, replacing
// any earlier expectations of the key.
func (c *Counts) ExpectCreations(key string, n int) { c.set(key, n, 0) }

// ExpectDeletions records that n deletions for key are in flight, replacing
// any earlier expectations of the key.
func (c *Counts) ExpectDeletions(key string, n int) { c.set(key, 0, n) }

func (c *Counts) set(key string, adds, dels int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byKey[key] = &counts{adds: adds, dels: dels, setAt: c.clock.Now()}
}

// CreationObserved lowers the pending creations of key by one.
func (c *Counts) CreationObserved(key string) { c.Lower(key, 1, 0) }

// DeletionObserved lowers the pending deletions of key by one.
func (c *Counts) DeletionObserved(key string) { c.Lower(key, 0, 1) }

// Lower lowers the pending creations and deletions of key, e.g. for calls
// that failed or were never made.
func (c *Counts) Lower(key string, adds, dels int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.byKey[key]; ok {
		r.adds -= adds
		r.dels -= dels
	}
}

// Satisfied reports whether every create and delete expected for key has been
// observed (or the expectations expired, or there never were any).
func (c *Counts) Satisfied(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.byKey[key]
	if !ok {
		return true
	}
	if r.adds <= 0 && r.dels <= 0 {
		return true
	}
	return c.clock.Since(r.setAt) > c.ttl
}

// Pending returns the outstanding creations and deletions of key.
func (c *Counts) Pending(key string) (adds, dels int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.byKey[key]; ok {
		return r.adds, r.dels
	}
	return 0, 0
}

// Delete forgets key.
func (c *Counts) Delete(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.byKey, key)
}

// UIDs tracks, per owner key, the UIDs of objects with an update in flight.
type UIDs struct {
	mu    sync.Mutex // guards byKey
	byKey map[string]sets.Set[string]
}

// NewUIDs returns an empty UIDs.
func NewUIDs() *UIDs { return &UIDs{byKey: map[string]sets.Set[string]{}} }

// Expect adds uids to the pending set of key.
func (u *UIDs) Expect(key string, uids ...string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	s, ok := u.byKey[key]
	if !ok {
		s = sets.New[string]()
		u.byKey[key] = s
	}
	s.Insert(uids...)
}

// Observed removes uid from the pending set of key.
func (u *UIDs) Observed(key, uid string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if s, ok := u.byKey[key]; ok {
		s.Delete(uid)
		if s.Len() == 0 {
			delete(u.byKey, key)
		}
	}
}

// Pending returns a copy of the pending set of key.
func (u *UIDs) Pending(key string) sets.Set[string] {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.byKey[key].Clone()
}

// Delete forgets key.
func (u *UIDs) Delete(key string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.byKey, key)
}
