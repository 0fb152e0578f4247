// Package cachetrim trims what kjet's informers keep of each object, as Kubernetes'
// controller manager and scheduler do: managedFields are the API server's bookkeeping
// for server-side apply, never read by a controller, and a pod's are most of its
// metadata (three writers' field sets, a few KB). Dropping them as objects enter an
// informer's cache keeps a node with thousands of pods from holding them twice
// (in the store and in the caches). NewInformerFactory is how kjet's components build
// their typed informers; the garbage collector's metadata informers take
// StripManagedFields as their transform.
package cachetrim

import (
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
)

// NewInformerFactory is an informer factory on client whose informers keep objects
// without managedFields, with opts (namespace, list options) added.
func NewInformerFactory(client kubernetes.Interface, opts ...informers.SharedInformerOption) informers.SharedInformerFactory {
	return informers.NewSharedInformerFactoryWithOptions(client, 0,
		append([]informers.SharedInformerOption{informers.WithTransform(StripManagedFields)}, opts...)...)
}

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
