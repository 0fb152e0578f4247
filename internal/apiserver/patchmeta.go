package apiserver

import (
	"bytes"
	"encoding/json"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	kjson "sigs.k8s.io/json"
)

// applyMetadataPatch applies a merge or strategic merge patch that changes nothing but
// the object's metadata (`{"metadata": {...}}`: finalizers, labels, annotations, owner
// references) to the metadata alone. Both kinds of patch merge each field on its own,
// so patching the metadata's JSON with ObjectMeta's patch strategy gives the metadata
// that patching the whole object's JSON would, without encoding and decoding the spec
// and status: the Job controller removes its finalizer from every finished pod this
// way, and the whole-object round trip was most of that write's cost.
//
// It reports false, and applyPatchToObject answers, for any other patch and whenever
// anything is unusual: a patch or metadata that does not parse, a merge that fails, a
// result that strict decoding would complain about. The whole-object path then gives
// the error or warning a client expects, worded as always.
func applyMetadataPatch(res *resource, current runtime.Object, patchType types.PatchType, patch []byte) (runtime.Object, bool) {
	if patchType != types.MergePatchType && patchType != types.StrategicMergePatchType {
		return nil, false
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(patch, &top); err != nil || len(top) != 1 {
		return nil, false
	}
	metaPatch, ok := top["metadata"]
	if !ok || len(metaPatch) == 0 || metaPatch[0] != '{' {
		return nil, false
	}
	currentMeta, ok := objectMeta(current)
	if !ok {
		return nil, false
	}
	// Managed fields are most of the metadata's JSON, and a patch rarely touches them:
	// unless it names them or replaces the metadata wholesale, they stay out of the
	// merge and are carried over as they are.
	carry := !mentionsManagedFields(metaPatch)
	toPatch := *currentMeta
	if carry {
		toPatch.ManagedFields = nil
	}
	original, err := json.Marshal(&toPatch)
	if err != nil {
		return nil, false
	}
	var patched []byte
	if patchType == types.MergePatchType {
		patched, err = jsonpatch.MergePatch(original, metaPatch)
	} else {
		patched, err = strategicpatch.StrategicMergePatch(original, metaPatch, &metav1.ObjectMeta{})
	}
	if err != nil {
		return nil, false
	}
	var patchedMeta metav1.ObjectMeta
	strictErrs, err := kjson.UnmarshalStrict(patched, &patchedMeta, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil || len(strictErrs) > 0 {
		return nil, false
	}
	if carry {
		patchedMeta.ManagedFields = currentMeta.ManagedFields
	}
	if patchedMeta.ResourceVersion == currentMeta.ResourceVersion {
		patchedMeta.ResourceVersion = ""
	}
	obj := current.DeepCopyObject()
	objMeta, ok := objectMeta(obj)
	if !ok {
		return nil, false
	}
	*objMeta = patchedMeta
	obj.GetObjectKind().SetGroupVersionKind(res.gvk)
	return obj, true
}

// mentionsManagedFields reports whether a metadata patch may change the managed
// fields: it names them, or it uses a strategic directive that can replace or prune
// the metadata as a whole. It errs on the side of yes.
func mentionsManagedFields(metaPatch []byte) bool {
	return bytes.Contains(metaPatch, []byte("managedFields")) ||
		bytes.Contains(metaPatch, []byte(`"$patch"`)) ||
		bytes.Contains(metaPatch, []byte(`"$retainKeys"`))
}

// objectMeta is the ObjectMeta embedded in a typed object.
func objectMeta(obj runtime.Object) (*metav1.ObjectMeta, bool) {
	a, ok := obj.(metav1.ObjectMetaAccessor)
	if !ok {
		return nil, false
	}
	m, ok := a.GetObjectMeta().(*metav1.ObjectMeta)
	return m, ok
}
