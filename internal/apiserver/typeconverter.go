package apiserver

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"
	"sigs.k8s.io/structured-merge-diff/v6/typed"
	"sigs.k8s.io/structured-merge-diff/v6/value"

	"github.com/kjet-dev/kjet/internal/apiserver/internal/typeschema"
)

// newTypeConverter is applyconfigurations.NewTypeConverter(scheme) with the schema
// decoded from typeschema's embedded copy instead of parsed from client-go's YAML, and
// without re-validating Go-typed objects on every write (see typedConverter). The
// managedFields it leads to are the same (the tests check it), so if the embedded copy
// cannot be decoded, client-go's converter serves instead, only slower.
func newTypeConverter(scheme *runtime.Scheme) managedfields.TypeConverter {
	parser, err := typeschema.Parser()
	if err != nil {
		return applyconfigurations.NewTypeConverter(scheme)
	}
	return typedConverter{
		TypeConverter: managedfields.NewSchemeTypeConverter(scheme, parser),
		scheme:        scheme,
		parser:        parser,
	}
}

// typedConverter converts Go-typed objects (a *batchv1.Job, not an Unstructured) to
// typed values without validating them against the schema when the caller allows
// duplicate list keys, which is how the field manager converts the old and new object
// of every update. Validation then only checks that each value has its schema's type,
// which a Go struct generated from that same schema always has, and it walked the
// whole object: a quarter of the CPU of tracking managedFields on each write.
// Everything else (apply configurations, which are unstructured and user-written,
// conversions that forbid duplicates, TypedToObject) goes to the embedded converter.
type typedConverter struct {
	managedfields.TypeConverter
	scheme *runtime.Scheme
	parser *typed.Parser
}

var _ managedfields.TypeConverter = typedConverter{}

func (c typedConverter) ObjectToTyped(obj runtime.Object, opts ...typed.ValidationOptions) (*typed.TypedValue, error) {
	if _, ok := obj.(runtime.Unstructured); ok || !slices.Contains(opts, typed.AllowDuplicates) {
		return c.TypeConverter.ObjectToTyped(obj, opts...)
	}
	name, err := c.scheme.ToOpenAPIDefinitionName(obj.GetObjectKind().GroupVersionKind())
	if err != nil {
		return nil, err
	}
	t := c.parser.Type(name)
	if _, ok := t.Schema.Resolve(t.TypeRef); !ok {
		return c.TypeConverter.ObjectToTyped(obj, opts...)
	}
	v, err := value.NewValueReflect(obj)
	if err != nil {
		return nil, fmt.Errorf("reflecting %T for managedFields: %w", obj, err)
	}
	// Deprecated in smd on the grounds that validating is no longer expensive; measured
	// here it still was (see typedConverter), and the value is a Go struct of the schema.
	//lint:ignore SA1019 validation is the cost this converter exists to skip
	return typed.AsTypedUnvalidated(v, t.Schema, t.TypeRef), nil
}
