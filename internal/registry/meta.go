package registry

import (
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// MetadataPath is the field path of an object's metadata ("metadata").
var MetadataPath = field.NewPath("metadata")

// ValidateObjectMeta checks a new object's metadata the way Kubernetes does for every
// resource: a name (checked with nameFn, e.g. apivalidation.NameIsDNSSubdomain), a
// namespace exactly when namespaced, valid labels, annotations, owner references and
// finalizers.
func ValidateObjectMeta(meta *metav1.ObjectMeta, namespaced bool, nameFn apivalidation.ValidateNameFunc) field.ErrorList {
	return apivalidation.ValidateObjectMeta(meta, namespaced, nameFn, MetadataPath)
}

// ValidateObjectMetaUpdate checks an update's metadata against the stored one (name,
// namespace, uid, creationTimestamp are immutable) and the new metadata on its own. An
// unconditional update (no resourceVersion) is checked as if it carried the stored one:
// the API server decides about conflicts, not the strategies.
func ValidateObjectMetaUpdate(meta, old *metav1.ObjectMeta) field.ErrorList {
	if meta.ResourceVersion == "" {
		withVersion := *meta
		withVersion.ResourceVersion = old.ResourceVersion
		if withVersion.ResourceVersion == "" {
			withVersion.ResourceVersion = "0"
		}
		meta = &withVersion
	}
	return apivalidation.ValidateObjectMetaUpdate(meta, old, MetadataPath)
}

// ObjectMetaFieldsSet returns the field-selector fields every resource supports:
// metadata.name, and metadata.namespace for namespaced resources.
func ObjectMetaFieldsSet(meta *metav1.ObjectMeta, namespaced bool) fields.Set {
	set := fields.Set{"metadata.name": meta.Name}
	if namespaced {
		set["metadata.namespace"] = meta.Namespace
	}
	return set
}

// MergeFieldsSets returns a set holding the fields of both sets (extra wins on clashes).
func MergeFieldsSets(base, extra fields.Set) fields.Set {
	for k, v := range extra {
		base[k] = v
	}
	return base
}
