package apiserver

import (
	"reflect"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/managedfields"
)

// updateManagedFields is fm.UpdateNoErrors(live, obj, manager), the managedFields
// bookkeeping of an update, without walking the parts of the object it did not change.
//
// The field manager compares the whole live and new objects to find the fields the
// update set, changed or removed. Most writes change one part: a status write leaves
// the spec as it was, the Job controller's removal of its finalizer from a finished pod
// changes neither spec nor status. Comparing equal parts yields nothing, so the result
// is the same when both objects go to the field manager without them: each top-level
// field besides the metadata that is identical (reflect.DeepEqual, so that even nil
// against empty counts as a change) is cleared in shallow copies of the two, and the
// managedFields computed on the copies are set on obj. Nothing else in the field
// manager reads the objects' content: the managers' field sets are reconciled against
// the schema alone.
func updateManagedFields(fm *managedfields.FieldManager, live, obj runtime.Object, manager string) runtime.Object {
	lv, ov := reflect.ValueOf(live), reflect.ValueOf(obj)
	if lv.Kind() != reflect.Pointer || lv.Type() != ov.Type() || lv.IsNil() || ov.IsNil() || lv.Elem().Kind() != reflect.Struct {
		return fm.UpdateNoErrors(live, obj, manager)
	}
	objMeta, ok := objectMeta(obj)
	if !ok {
		return fm.UpdateNoErrors(live, obj, manager)
	}
	t := lv.Elem().Type()
	var liveCopy, objCopy reflect.Value
	for i := range t.NumField() {
		f := t.Field(i)
		// The embedded TypeMeta and ObjectMeta stay: the field manager reads and
		// writes the metadata.
		if f.Anonymous || !f.IsExported() {
			continue
		}
		lf, of := lv.Elem().Field(i), ov.Elem().Field(i)
		if !reflect.DeepEqual(lf.Interface(), of.Interface()) {
			continue
		}
		if !liveCopy.IsValid() {
			liveCopy, objCopy = reflect.New(t), reflect.New(t)
			liveCopy.Elem().Set(lv.Elem())
			objCopy.Elem().Set(ov.Elem())
		}
		liveCopy.Elem().Field(i).SetZero()
		objCopy.Elem().Field(i).SetZero()
	}
	if !liveCopy.IsValid() {
		return fm.UpdateNoErrors(live, obj, manager)
	}
	updated, ok := objectMeta(fm.UpdateNoErrors(liveCopy.Interface().(runtime.Object), objCopy.Interface().(runtime.Object), manager))
	if !ok {
		return fm.UpdateNoErrors(live, obj, manager)
	}
	objMeta.ManagedFields = updated.ManagedFields
	return obj
}
