package registry

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// FuncStrategy builds a Strategy for simple resources from typed functions. Metadata is
// always validated (name with NameFn, DNS subdomain when nil); every nil function does
// nothing (GenerationChanged nil: never).
type FuncStrategy[T runtime.Object] struct {
	Namespaced bool
	// NameFn validates metadata.name; nil means apivalidation.NameIsDNSSubdomain.
	NameFn apivalidation.ValidateNameFunc
	// Defaults runs on create and update.
	Defaults func(obj T)
	// PrepareCreate runs after Defaults on create (e.g. clear or initialise status).
	PrepareCreate func(obj T)
	// PrepareUpdate runs after Defaults on update (e.g. keep the stored status).
	PrepareUpdate func(obj, old T)
	// Check validates an object beyond its metadata, on create and update.
	Check func(obj T) field.ErrorList
	// CheckUpdate adds the update-only checks (immutable fields).
	CheckUpdate func(obj, old T) field.ErrorList
	// GenerationChanged decides generation bumps (SpecChanged).
	GenerationChanged func(obj, old T) bool
	// Fields returns the selectable fields beyond metadata.name/namespace.
	Fields func(obj T) fields.Set
}

var _ Strategy = FuncStrategy[*metav1.PartialObjectMetadata]{}

func typed[T runtime.Object](obj runtime.Object) T {
	t, ok := obj.(T)
	if !ok {
		var zero T
		panic(fmt.Sprintf("strategy for %T: unexpected object %T", zero, obj))
	}
	return t
}

// PrepareForCreate implements Strategy.
func (s FuncStrategy[T]) PrepareForCreate(_ context.Context, obj runtime.Object) {
	t := typed[T](obj)
	if s.Defaults != nil {
		s.Defaults(t)
	}
	if s.PrepareCreate != nil {
		s.PrepareCreate(t)
	}
}

// Validate implements Strategy.
func (s FuncStrategy[T]) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	t := typed[T](obj)
	accessor, err := meta.Accessor(obj)
	if err != nil {
		return field.ErrorList{field.InternalError(MetadataPath, err)}
	}
	nameFn := s.NameFn
	if nameFn == nil {
		nameFn = apivalidation.NameIsDNSSubdomain
	}
	errs := apivalidation.ValidateObjectMetaAccessor(accessor, s.Namespaced, nameFn, MetadataPath)
	if s.Check != nil {
		errs = append(errs, s.Check(t)...)
	}
	return errs
}

// PrepareForUpdate implements Strategy.
func (s FuncStrategy[T]) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	t := typed[T](obj)
	if s.Defaults != nil {
		s.Defaults(t)
	}
	if s.PrepareUpdate != nil {
		s.PrepareUpdate(t, typed[T](old))
	}
}

// ValidateUpdate implements Strategy.
func (s FuncStrategy[T]) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	errs := s.Validate(ctx, obj)
	errs = append(errs, ValidateObjectMetaAccessorUpdate(obj, old)...)
	if s.CheckUpdate != nil {
		errs = append(errs, s.CheckUpdate(typed[T](obj), typed[T](old))...)
	}
	return errs
}

// SpecChanged implements Strategy.
func (s FuncStrategy[T]) SpecChanged(obj, old runtime.Object) bool {
	return s.GenerationChanged != nil && s.GenerationChanged(typed[T](obj), typed[T](old))
}

// WarningsOnCreate implements Strategy.
func (FuncStrategy[T]) WarningsOnCreate(context.Context, runtime.Object) []string { return nil }

// AttrsFunc implements Strategy.
func (s FuncStrategy[T]) AttrsFunc(obj runtime.Object) (labels.Set, fields.Set, error) {
	t, ok := obj.(T)
	if !ok {
		return nil, nil, fmt.Errorf("attrs: unexpected object %T", obj)
	}
	accessor, err := meta.Accessor(obj)
	if err != nil {
		return nil, nil, fmt.Errorf("attrs: %w", err)
	}
	set := fields.Set{"metadata.name": accessor.GetName()}
	if s.Namespaced {
		set["metadata.namespace"] = accessor.GetNamespace()
	}
	if s.Fields != nil {
		set = MergeFieldsSets(set, s.Fields(t))
	}
	return labels.Set(accessor.GetLabels()), set, nil
}

// FuncStatusStrategy builds a StatusStrategy: KeepSpec copies everything but status
// from old into obj (metadata is reset to old's automatically); CheckStatus checks the
// new status (nil: nothing beyond metadata).
type FuncStatusStrategy[T runtime.Object] struct {
	KeepSpec    func(obj, old T)
	CheckStatus func(obj, old T) field.ErrorList
}

var _ StatusStrategy = FuncStatusStrategy[*metav1.PartialObjectMetadata]{}

// PrepareForUpdate implements StatusStrategy.
func (s FuncStatusStrategy[T]) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	t, o := typed[T](obj), typed[T](old)
	if s.KeepSpec != nil {
		s.KeepSpec(t, o)
	}
	newMeta, err1 := meta.Accessor(obj)
	oldMeta, err2 := meta.Accessor(old)
	if err1 == nil && err2 == nil {
		metav1.ResetObjectMetaForStatus(newMeta, oldMeta)
	}
}

// ValidateUpdate implements StatusStrategy.
func (s FuncStatusStrategy[T]) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	errs := ValidateObjectMetaAccessorUpdate(obj, old)
	if s.CheckStatus != nil {
		errs = append(errs, s.CheckStatus(typed[T](obj), typed[T](old))...)
	}
	return errs
}

// ValidateObjectMetaAccessorUpdate is ValidateObjectMetaUpdate for any object.
func ValidateObjectMetaAccessorUpdate(obj, old runtime.Object) field.ErrorList {
	newMeta, err := meta.Accessor(obj)
	if err != nil {
		return field.ErrorList{field.InternalError(MetadataPath, err)}
	}
	oldMeta, err := meta.Accessor(old)
	if err != nil {
		return field.ErrorList{field.InternalError(MetadataPath, err)}
	}
	if rv := newMeta.GetResourceVersion(); rv == "" {
		fill := oldMeta.GetResourceVersion()
		if fill == "" {
			fill = "0"
		}
		newMeta.SetResourceVersion(fill)
		defer newMeta.SetResourceVersion(rv)
	}
	return apivalidation.ValidateObjectMetaAccessorUpdate(newMeta, oldMeta, MetadataPath)
}
