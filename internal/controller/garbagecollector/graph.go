package garbagecollector

import (
	"slices"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// identity says where an object lives: what its owner references would call it, plus
// its namespace.
type identity struct {
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
	UID        types.UID
}

// node is one object in the ownership graph. Fields are guarded by graph.mu.
type node struct {
	id identity
	// gvr is the resource the object was observed through (empty for virtual nodes).
	gvr schema.GroupVersionResource
	// virtual nodes stand for owners that some dependent names but that no informer
	// has shown us (yet): they may not exist.
	virtual bool
	// owners are the object's ownerReferences as last observed.
	owners []metav1.OwnerReference
	// dependents are the nodes whose ownerReferences name this node's UID.
	dependents map[*node]struct{}
	// beingDeleted: deletionTimestamp is set.
	beingDeleted bool
	// deletingDependents: being deleted with the foregroundDeletion finalizer.
	deletingDependents bool
	// orphaning: being deleted with the orphan finalizer.
	orphaning bool
}

// blocks reports whether dep's reference to n has blockOwnerDeletion: true.
func (n *node) blockedBy(dep *node) bool {
	for _, o := range dep.owners {
		if o.UID == n.id.UID && o.BlockOwnerDeletion != nil && *o.BlockOwnerDeletion {
			return true
		}
	}
	return false
}

// graph is the owner → dependents graph built from the metadata informers.
type graph struct {
	// mu guards nodes and every field of every node.
	mu    sync.Mutex
	nodes map[types.UID]*node
	// enqueueDelete and enqueueOrphan hand work to the collector; they must not block
	// and must not call back into the graph.
	enqueueDelete func(types.UID)
	enqueueOrphan func(types.UID)
}

func newGraph(enqueueDelete, enqueueOrphan func(types.UID)) *graph {
	return &graph{nodes: map[types.UID]*node{}, enqueueDelete: enqueueDelete, enqueueOrphan: enqueueOrphan}
}

// observe records an added or updated object seen through resource gvr.
func (g *graph) observe(gvr schema.GroupVersionResource, id identity, obj metav1.Object) {
	g.mu.Lock()
	defer g.mu.Unlock()

	owners := slices.Clone(obj.GetOwnerReferences())
	n, found := g.nodes[id.UID]
	var wasDeletingDependents, wasOrphaning bool
	switch {
	case !found:
		n = &node{id: id, gvr: gvr, dependents: map[*node]struct{}{}, owners: owners}
		g.nodes[id.UID] = n
		g.addDependentToOwners(n, owners)
	default:
		wasDeletingDependents, wasOrphaning = n.deletingDependents, n.orphaning
		if n.virtual {
			// A virtual node's flags were never observed.
			wasDeletingDependents, wasOrphaning = false, false
		}
		n.virtual = false
		n.id = id
		n.gvr = gvr
		added, removed, changed := diffOwners(n.owners, owners)
		g.removeDependentFromOwners(n, removed)
		g.addDependentToOwners(n, added)
		n.owners = owners
		// A foreground owner waits on its blocking dependents: tell it when one lets go.
		for _, ref := range append(removed, changed...) {
			if o, ok := g.nodes[ref.UID]; ok && o.deletingDependents {
				g.enqueueDelete(o.id.UID)
			}
		}
	}

	n.beingDeleted = obj.GetDeletionTimestamp() != nil
	n.deletingDependents = n.beingDeleted && slices.Contains(obj.GetFinalizers(), metav1.FinalizerDeleteDependents)
	n.orphaning = n.beingDeleted && slices.Contains(obj.GetFinalizers(), metav1.FinalizerOrphanDependents)

	if n.orphaning && !wasOrphaning {
		g.enqueueOrphan(n.id.UID)
	}
	if n.deletingDependents && !wasDeletingDependents {
		for dep := range n.dependents {
			g.enqueueDelete(dep.id.UID)
		}
		g.enqueueDelete(n.id.UID)
	}
}

// forget removes a deleted object and wakes everything its going affects.
func (g *graph) forget(uid types.UID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.removeLocked(uid)
}

func (g *graph) removeLocked(uid types.UID) {
	n, ok := g.nodes[uid]
	if !ok {
		return
	}
	delete(g.nodes, uid)
	g.removeDependentFromOwners(n, n.owners)
	for dep := range n.dependents {
		g.enqueueDelete(dep.id.UID)
	}
}

// addDependentToOwners links n under each owner, creating virtual owners for UIDs the
// graph does not know; those are queued so that the collector checks whether they
// exist.
func (g *graph) addDependentToOwners(n *node, owners []metav1.OwnerReference) {
	for _, ref := range owners {
		o, ok := g.nodes[ref.UID]
		if !ok {
			o = &node{
				id:         identity{APIVersion: ref.APIVersion, Kind: ref.Kind, Name: ref.Name, UID: ref.UID, Namespace: n.id.Namespace},
				virtual:    true,
				dependents: map[*node]struct{}{},
			}
			g.nodes[ref.UID] = o
			g.enqueueDelete(ref.UID)
		}
		o.dependents[n] = struct{}{}
		if o.deletingDependents {
			// A dependent that appears while its owner waits for its dependents to go.
			g.enqueueDelete(n.id.UID)
		}
	}
}

// removeDependentFromOwners unlinks n from the given owners; a virtual owner left with
// no dependents has nothing more to tell and is dropped.
func (g *graph) removeDependentFromOwners(n *node, owners []metav1.OwnerReference) {
	for _, ref := range owners {
		o, ok := g.nodes[ref.UID]
		if !ok {
			continue
		}
		delete(o.dependents, n)
		if o.virtual && len(o.dependents) == 0 {
			delete(g.nodes, ref.UID)
		}
		if o.deletingDependents {
			g.enqueueDelete(o.id.UID)
		}
	}
}

// diffOwners compares two ownerReferences lists by UID: references only in new,
// only in old, and in both but changed.
func diffOwners(old, new []metav1.OwnerReference) (added, removed, changed []metav1.OwnerReference) {
	oldByUID := make(map[types.UID]metav1.OwnerReference, len(old))
	for _, o := range old {
		oldByUID[o.UID] = o
	}
	for _, n := range new {
		o, ok := oldByUID[n.UID]
		if !ok {
			added = append(added, n)
			continue
		}
		delete(oldByUID, n.UID)
		if !ownerRefsEqual(o, n) {
			changed = append(changed, n)
		}
	}
	for _, o := range old {
		if _, ok := oldByUID[o.UID]; ok {
			removed = append(removed, o)
		}
	}
	return added, removed, changed
}

func ownerRefsEqual(a, b metav1.OwnerReference) bool {
	return a.APIVersion == b.APIVersion && a.Kind == b.Kind && a.Name == b.Name && a.UID == b.UID &&
		boolEq(a.Controller, b.Controller) && boolEq(a.BlockOwnerDeletion, b.BlockOwnerDeletion)
}

func boolEq(a, b *bool) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// snapshot is what a worker needs to know about a node, copied under the lock.
type snapshot struct {
	id                 identity
	gvr                schema.GroupVersionResource
	virtual            bool
	beingDeleted       bool
	deletingDependents bool
	// dependents of the node: their identities, whether they block it, whether they
	// are themselves deleting their dependents.
	dependents []dependentInfo
}

type dependentInfo struct {
	id                 identity
	gvr                schema.GroupVersionResource
	blocking           bool
	deletingDependents bool
}

// get copies a node's state; ok is false if the graph does not hold the UID.
func (g *graph) get(uid types.UID) (snapshot, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	n, ok := g.nodes[uid]
	if !ok {
		return snapshot{}, false
	}
	s := snapshot{id: n.id, gvr: n.gvr, virtual: n.virtual, beingDeleted: n.beingDeleted, deletingDependents: n.deletingDependents}
	for dep := range n.dependents {
		s.dependents = append(s.dependents, dependentInfo{id: dep.id, gvr: dep.gvr, blocking: n.blockedBy(dep), deletingDependents: dep.deletingDependents})
	}
	return s, true
}

// ownerAbsent handles a virtual owner confirmed not to exist: it leaves the graph
// and its dependents are queued to be collected (each checks its own references).
func (g *graph) ownerAbsent(uid types.UID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	n, ok := g.nodes[uid]
	if !ok || !n.virtual {
		return
	}
	delete(g.nodes, uid)
	for dep := range n.dependents {
		g.enqueueDelete(dep.id.UID)
	}
}

// len is the number of nodes, virtual ones included.
func (g *graph) len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.nodes)
}
