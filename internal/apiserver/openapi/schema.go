package openapi

import (
	"reflect"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// schemaRefPrefix is where component schemas live in an OpenAPI v3 document.
const schemaRefPrefix = "#/components/schemas/"

// schemaBuilder derives OpenAPI schemas from the Go types of k8s.io/api by reflection,
// following their json and patch struct tags and the OpenAPI hooks apimachinery's types
// implement (OpenAPIModelName, OpenAPISchemaType, OpenAPISchemaFormat). It is used for
// kinds no upstream document covers; it has no descriptions.
type schemaBuilder struct {
	// defs maps definition names to schemas, in JSON form.
	defs map[string]map[string]any
}

func newSchemaBuilder() *schemaBuilder {
	return &schemaBuilder{defs: map[string]map[string]any{}}
}

type modelNamer interface{ OpenAPIModelName() string }
type schemaTyper interface{ OpenAPISchemaType() []string }
type schemaFormatter interface{ OpenAPISchemaFormat() string }

var (
	intOrStringType  = reflect.TypeOf(intstr.IntOrString{})
	rawExtensionType = reflect.TypeOf(runtime.RawExtension{})
	byteSliceType    = reflect.TypeOf([]byte(nil))
)

// kind adds obj's type as a top-level kind schema carrying gvk, and returns its name.
func (b *schemaBuilder) kind(obj any, gvk schema.GroupVersionKind) string {
	t := reflect.TypeOf(obj)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	b.schemaFor(t)
	name := definitionName(t)
	b.defs[name]["x-kubernetes-group-version-kind"] = []any{map[string]any{
		"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind,
	}}
	return name
}

// schemaFor returns the schema of a value of type t, adding named definitions for
// struct types.
func (b *schemaBuilder) schemaFor(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == intOrStringType:
		return map[string]any{"x-kubernetes-int-or-string": true, "anyOf": []any{
			map[string]any{"type": "integer"}, map[string]any{"type": "string"},
		}}
	case t == rawExtensionType:
		return map[string]any{"type": "object"}
	case t == byteSliceType:
		return map[string]any{"type": "string", "format": "byte"}
	}
	if s, ok := hookSchema(t); ok {
		return s
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64, reflect.Uint64, reflect.Uint:
		return map[string]any{"type": "integer", "format": "int64"}
	case reflect.Int32, reflect.Int16, reflect.Int8, reflect.Uint32, reflect.Uint16, reflect.Uint8:
		return map[string]any{"type": "integer", "format": "int32"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number", "format": "double"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": b.schemaFor(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": b.schemaFor(t.Elem())}
	case reflect.Struct:
		name := definitionName(t)
		if _, done := b.defs[name]; !done {
			def := map[string]any{"type": "object"}
			b.defs[name] = def // before the fields: types may refer to themselves
			props := map[string]any{}
			b.addFields(t, props)
			if len(props) > 0 {
				def["properties"] = props
			}
		}
		return map[string]any{"$ref": schemaRefPrefix + name}
	default: // interfaces and anything else: free-form
		return map[string]any{}
	}
}

// addFields adds the JSON properties of struct t to props, flattening inline and
// embedded structs.
func (b *schemaBuilder) addFields(t reflect.Type, props map[string]any) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if (f.Anonymous && name == "") || strings.Contains(opts, "inline") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				b.addFields(ft, props)
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		s := b.schemaFor(f.Type)
		if ps := f.Tag.Get("patchStrategy"); ps != "" {
			s = withExtensions(s, map[string]any{"x-kubernetes-patch-strategy": ps})
		}
		if key := f.Tag.Get("patchMergeKey"); key != "" {
			s = withExtensions(s, map[string]any{"x-kubernetes-patch-merge-key": key})
		}
		props[name] = s
	}
}

// withExtensions returns s with ext added; a $ref schema is wrapped in allOf, since
// siblings of $ref are ignored in OpenAPI 3.0.
func withExtensions(s map[string]any, ext map[string]any) map[string]any {
	if _, isRef := s["$ref"]; isRef {
		s = map[string]any{"allOf": []any{s}}
	}
	for k, v := range ext {
		s[k] = v
	}
	return s
}

// hookSchema uses a type's own OpenAPISchemaType/Format methods (metav1.Time,
// resource.Quantity, ...).
func hookSchema(t reflect.Type) (map[string]any, bool) {
	v := reflect.New(t)
	typer, ok := v.Interface().(schemaTyper)
	if !ok {
		return nil, false
	}
	types := typer.OpenAPISchemaType()
	if len(types) == 0 {
		return map[string]any{}, true
	}
	s := map[string]any{"type": types[0]}
	if f, ok := v.Interface().(schemaFormatter); ok && f.OpenAPISchemaFormat() != "" {
		s["format"] = f.OpenAPISchemaFormat()
	}
	return s, true
}

// definitionName is the schema name Kubernetes uses for t: its OpenAPIModelName, else
// the reversed-domain package path plus the type name (io.k8s.api.batch.v1.Job).
func definitionName(t reflect.Type) string {
	if n, ok := reflect.New(t).Interface().(modelNamer); ok {
		return n.OpenAPIModelName()
	}
	pkg := t.PkgPath()
	host, rest, _ := strings.Cut(pkg, "/")
	parts := strings.Split(host, ".")
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	name := strings.Join(parts, ".")
	if rest != "" {
		name += "." + strings.ReplaceAll(rest, "/", ".")
	}
	return name + "." + t.Name()
}

// statusType is metav1.Status, the response of delete operations.
var statusType = reflect.TypeOf(metav1.Status{})
