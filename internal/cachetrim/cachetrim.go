// Package cachetrim trims what kjet's informers keep of each object, as Kubernetes'
// controller manager and scheduler do: managedFields are the API server's bookkeeping
// for server-side apply, never read by a controller, and a pod's are most of its
// metadata (three writers' field sets, a few KB). Dropping them as objects enter an
// informer's cache keeps a node with thousands of pods from holding them twice
// (in the store and in the caches).
package cachetrim

import "k8s.io/apimachinery/pkg/api/meta"

// StripManagedFields is a cache.TransformFunc that removes metadata.managedFields.
// Objects without metadata (a tombstone, say) pass unchanged. Writes made from a
// trimmed object keep the stored managedFields: the API server reads an update without
// them as leaving them alone.
func StripManagedFields(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil && m.GetManagedFields() != nil {
		m.SetManagedFields(nil)
	}
	return obj, nil
}
