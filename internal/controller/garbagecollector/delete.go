package garbagecollector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// errUnknownKind: an ownerReference names a kind no served resource has.
var errUnknownKind = errors.New("garbage collector: no resource for kind")

// resolve finds the resource and namespace to look an object up by.
func (c *Collector) resolve(apiVersion, kind, namespace string) (schema.GroupVersionResource, string, error) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return schema.GroupVersionResource{}, "", fmt.Errorf("parsing apiVersion %q: %w", apiVersion, err)
	}
	gvr, ok := c.kinds[gv.WithKind(kind)]
	if !ok {
		for gvk, r := range c.kinds {
			if gvk.Group == gv.Group && gvk.Kind == kind {
				gvr, ok = r, true
				break
			}
		}
	}
	if !ok {
		return schema.GroupVersionResource{}, "", fmt.Errorf("%w %s %s", errUnknownKind, apiVersion, kind)
	}
	if c.clusterScoped[gvr.GroupResource()] {
		namespace = ""
	}
	return gvr, namespace, nil
}

// getLive reads an object's metadata from the API. found is false if no object with
// that name and UID exists.
func (c *Collector) getLive(ctx context.Context, gvr schema.GroupVersionResource, namespace, name string, uid types.UID) (*metav1.PartialObjectMetadata, bool, error) {
	obj, err := c.client.Resource(gvr).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("getting %s %s/%s: %w", gvr.Resource, namespace, name, err)
	case obj.UID != uid:
		return nil, false, nil
	}
	return obj, true, nil
}

// attemptToDeleteItem decides about one node: a virtual owner is checked for
// existence; a foreground owner may lose its finalizer; any other object is deleted if
// all its owners are gone or waiting for it. requeue asks to look again later without
// it being an error.
func (c *Collector) attemptToDeleteItem(ctx context.Context, uid types.UID) (requeue bool, err error) {
	n, ok := c.graph.get(uid)
	if !ok {
		return false, nil
	}
	if n.virtual {
		return c.verifyVirtualOwner(ctx, n)
	}
	if n.beingDeleted && !n.deletingDependents {
		// Deletion is a one-way trip; its dependents are handled when it is gone.
		return false, nil
	}

	latest, found, err := c.getLive(ctx, n.gvr, n.id.Namespace, n.id.Name, n.id.UID)
	if err != nil {
		return false, err
	}
	if !found {
		// Gone already: the informer will tell the graph; wake the dependents now.
		c.absent.add(uid)
		c.graph.forget(uid)
		return false, nil
	}

	if n.deletingDependents {
		return false, c.processDeletingDependents(ctx, n, latest)
	}

	refs := latest.OwnerReferences
	if len(refs) == 0 {
		return false, nil
	}
	solid, dangling, waiting, err := c.classifyReferences(ctx, n.id.Namespace, refs)
	if err != nil {
		return false, err
	}
	logger(ctx).V(5).Info("classified owner references", "object", n.id, "solid", len(solid), "dangling", len(dangling), "waiting", len(waiting))

	switch {
	case len(solid) > 0:
		if len(dangling) == 0 && len(waiting) == 0 {
			return false, nil
		}
		// Some owner still holds it: only drop the references to owners that are gone
		// or waiting for their dependents to go.
		drop := map[types.UID]bool{}
		for _, r := range append(dangling, waiting...) {
			drop[r.UID] = true
		}
		return false, c.patchOwnerReferences(ctx, n.gvr, latest, func(r metav1.OwnerReference) (metav1.OwnerReference, bool) {
			return r, !drop[r.UID]
		})
	case len(waiting) > 0 && len(n.dependents) > 0:
		// An owner waits for this object, which has dependents of its own: delete it
		// in the foreground too. If one of its dependents is itself waiting on its
		// dependents (a cycle), stop blocking our owners first.
		for _, d := range n.dependents {
			if d.deletingDependents {
				err := c.patchOwnerReferences(ctx, n.gvr, latest, func(r metav1.OwnerReference) (metav1.OwnerReference, bool) {
					if r.BlockOwnerDeletion != nil && *r.BlockOwnerDeletion {
						r.BlockOwnerDeletion = new(bool)
					}
					return r, true
				})
				if err != nil {
					return false, err
				}
				break
			}
		}
		return false, c.deleteObject(ctx, n.gvr, latest, metav1.DeletePropagationForeground)
	default:
		// No owner holds it: garbage. Keep the propagation its finalizers ask for.
		policy := metav1.DeletePropagationBackground
		switch {
		case slices.Contains(latest.Finalizers, metav1.FinalizerOrphanDependents):
			policy = metav1.DeletePropagationOrphan
		case slices.Contains(latest.Finalizers, metav1.FinalizerDeleteDependents):
			policy = metav1.DeletePropagationForeground
		}
		return false, c.deleteObject(ctx, n.gvr, latest, policy)
	}
}

// verifyVirtualOwner checks an owner known only from references: if it does not exist
// its dependents are queued; if it does, we wait for an informer to show it (unless no
// informer ever will).
func (c *Collector) verifyVirtualOwner(ctx context.Context, n snapshot) (bool, error) {
	if c.absent.has(n.id.UID) {
		c.graph.ownerAbsent(n.id.UID)
		return false, nil
	}
	gvr, ns, err := c.resolve(n.id.APIVersion, n.id.Kind, n.id.Namespace)
	if errors.Is(err, errUnknownKind) {
		// Its dependents cannot be judged either; they are retried on their own.
		logger(ctx).V(2).Info("owner of unknown kind", "owner", n.id)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, found, err := c.getLive(ctx, gvr, ns, n.id.Name, n.id.UID)
	if err != nil {
		return false, err
	}
	if !found {
		c.absent.add(n.id.UID)
		c.graph.ownerAbsent(n.id.UID)
		return false, nil
	}
	// It exists; look again until an informer has observed it.
	return slices.Contains(c.resources, gvr), nil
}

// classifyReferences sorts an object's owner references: solid (the owner exists and
// is not waiting for its dependents), dangling (no owner with that UID), and waiting
// (the owner is being deleted in the foreground).
func (c *Collector) classifyReferences(ctx context.Context, namespace string, refs []metav1.OwnerReference) (solid, dangling, waiting []metav1.OwnerReference, err error) {
	for _, ref := range refs {
		if c.absent.has(ref.UID) {
			dangling = append(dangling, ref)
			continue
		}
		gvr, ns, err := c.resolve(ref.APIVersion, ref.Kind, namespace)
		if err != nil {
			return nil, nil, nil, err
		}
		owner, found, err := c.getLive(ctx, gvr, ns, ref.Name, ref.UID)
		if err != nil {
			return nil, nil, nil, err
		}
		switch {
		case !found:
			c.absent.add(ref.UID)
			dangling = append(dangling, ref)
		case owner.DeletionTimestamp != nil && slices.Contains(owner.Finalizers, metav1.FinalizerDeleteDependents):
			waiting = append(waiting, ref)
		default:
			solid = append(solid, ref)
		}
	}
	return solid, dangling, waiting, nil
}

// processDeletingDependents finishes a foreground deletion when no blocking dependent
// is left, and otherwise makes sure each blocking dependent is being worked on.
func (c *Collector) processDeletingDependents(ctx context.Context, n snapshot, latest *metav1.PartialObjectMetadata) error {
	var blocking []dependentInfo
	for _, d := range n.dependents {
		if d.blocking {
			blocking = append(blocking, d)
		}
	}
	if len(blocking) == 0 {
		return c.removeFinalizer(ctx, n.gvr, latest.Namespace, latest.Name, latest.UID, metav1.FinalizerDeleteDependents)
	}
	for _, d := range blocking {
		if !d.deletingDependents {
			c.attemptToDelete.Add(d.id.UID)
		}
	}
	return nil
}

// deleteObject deletes obj with a UID precondition and the given propagation.
func (c *Collector) deleteObject(ctx context.Context, gvr schema.GroupVersionResource, obj *metav1.PartialObjectMetadata, policy metav1.DeletionPropagation) error {
	uid := obj.UID
	logger(ctx).V(2).Info("deleting object", "resource", gvr.Resource, "namespace", obj.Namespace, "name", obj.Name, "propagationPolicy", policy)
	err := c.client.Resource(gvr).Namespace(obj.Namespace).Delete(ctx, obj.Name, metav1.DeleteOptions{
		PropagationPolicy: &policy,
		Preconditions:     &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting %s %s/%s: %w", gvr.Resource, obj.Namespace, obj.Name, err)
	}
	return nil
}

// absentCacheSize bounds the memory of owners known to be gone.
const absentCacheSize = 1024

// absentCache remembers UIDs confirmed not to exist (UIDs are never reused), saving a
// GET per dependent when an owner with many dependents goes.
type absentCache struct {
	mu   sync.Mutex // guards uids
	uids map[types.UID]struct{}
	max  int
}

func newAbsentCache(max int) *absentCache {
	return &absentCache{uids: map[types.UID]struct{}{}, max: max}
}

func (a *absentCache) add(uid types.UID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.uids) >= a.max {
		clear(a.uids)
	}
	a.uids[uid] = struct{}{}
}

func (a *absentCache) has(uid types.UID) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.uids[uid]
	return ok
}
