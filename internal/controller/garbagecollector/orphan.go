package garbagecollector

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
)

// attemptToOrphanItem carries out an Orphan deletion: the owner's reference is removed
// from each of its dependents, then its orphan finalizer, after which the API server
// deletes it.
func (c *Collector) attemptToOrphanItem(ctx context.Context, uid types.UID) error {
	n, ok := c.graph.get(uid)
	if !ok || n.virtual {
		return nil
	}
	for _, d := range n.dependents {
		latest, found, err := c.getLive(ctx, d.gvr, d.id.Namespace, d.id.Name, d.id.UID)
		if err != nil {
			return err
		}
		if !found {
			continue
		}
		err = c.patchOwnerReferences(ctx, d.gvr, latest, func(r metav1.OwnerReference) (metav1.OwnerReference, bool) {
			return r, r.UID != uid
		})
		if err != nil {
			return fmt.Errorf("orphaning %s/%s: %w", d.id.Namespace, d.id.Name, err)
		}
	}
	return c.removeFinalizer(ctx, n.gvr, n.id.Namespace, n.id.Name, uid, metav1.FinalizerOrphanDependents)
}

// metadataPatch is a JSON merge patch of an object's metadata. uid and
// resourceVersion make it conditional: it applies only to the object as read.
type metadataPatch struct {
	Metadata struct {
		UID             types.UID                `json:"uid"`
		ResourceVersion string                   `json:"resourceVersion"`
		OwnerReferences *[]metav1.OwnerReference `json:"ownerReferences,omitempty"`
		Finalizers      *[]string                `json:"finalizers,omitempty"`
	} `json:"metadata"`
}

// patchOwnerReferences rewrites obj's ownerReferences through keep (which may change
// a reference, or drop it by returning false), re-reading and retrying on conflicts.
// Nothing is sent if nothing changes.
func (c *Collector) patchOwnerReferences(ctx context.Context, gvr schema.GroupVersionResource, obj *metav1.PartialObjectMetadata, keep func(metav1.OwnerReference) (metav1.OwnerReference, bool)) error {
	current := obj
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		if current == nil {
			latest, found, err := c.getLive(ctx, gvr, obj.Namespace, obj.Name, obj.UID)
			if err != nil || !found {
				return err
			}
			current = latest
		}
		refs := []metav1.OwnerReference{}
		for _, r := range current.OwnerReferences {
			if nr, ok := keep(*r.DeepCopy()); ok {
				refs = append(refs, nr)
			}
		}
		if slices.EqualFunc(refs, current.OwnerReferences, ownerRefsEqual) {
			return nil
		}
		var p metadataPatch
		p.Metadata.UID = current.UID
		p.Metadata.ResourceVersion = current.ResourceVersion
		p.Metadata.OwnerReferences = &refs
		err := c.patch(ctx, gvr, current.Namespace, current.Name, p)
		current = nil
		return err
	})
}

// removeFinalizer removes one finalizer from an object (conditional on its
// resourceVersion, retried on conflicts). A missing object or finalizer is success.
func (c *Collector) removeFinalizer(ctx context.Context, gvr schema.GroupVersionResource, namespace, name string, uid types.UID, finalizer string) error {
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		obj, found, err := c.getLive(ctx, gvr, namespace, name, uid)
		if err != nil || !found {
			return err
		}
		if !slices.Contains(obj.Finalizers, finalizer) {
			return nil
		}
		rest := []string{}
		for _, f := range obj.Finalizers {
			if f != finalizer {
				rest = append(rest, f)
			}
		}
		var p metadataPatch
		p.Metadata.UID = obj.UID
		p.Metadata.ResourceVersion = obj.ResourceVersion
		p.Metadata.Finalizers = &rest
		logger(ctx).V(2).Info("removing finalizer", "resource", gvr.Resource, "namespace", namespace, "name", name, "finalizer", finalizer)
		return c.patch(ctx, gvr, namespace, name, p)
	})
}

func (c *Collector) patch(ctx context.Context, gvr schema.GroupVersionResource, namespace, name string, p metadataPatch) error {
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encoding patch: %w", err)
	}
	_, err = c.client.Resource(gvr).Namespace(namespace).Patch(ctx, name, types.MergePatchType, data, metav1.PatchOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("patching %s %s/%s: %w", gvr.Resource, namespace, name, err)
	}
	return nil
}
