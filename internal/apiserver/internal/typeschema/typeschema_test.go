package typeschema

import (
	"bytes"
	"errors"
	"reflect"
	"sync"
	"testing"

	"sigs.k8s.io/structured-merge-diff/v6/schema"
	"sigs.k8s.io/structured-merge-diff/v6/typed"

	"github.com/kjet-dev/kjet/internal/apiserver/internal/typeschema/internal/source"
)

// clientGoSchema reads client-go's schema YAML once per test binary.
var clientGoSchema = sync.OnceValues(func() (string, error) {
	dir, err := source.ClientGoDir(".")
	if err != nil {
		return "", err
	}
	return source.SchemaYAML(dir)
})

func parseClientGoSchema(t testing.TB) *typed.Parser {
	t.Helper()
	yaml, err := clientGoSchema()
	if err != nil {
		t.Fatalf("reading client-go's schema: %v", err)
	}
	p, err := typed.NewParser(typed.YAMLObject(yaml))
	if err != nil {
		t.Fatalf("parsing client-go's schema: %v", err)
	}
	return p
}

// TestEmbeddedSchemaIsCurrent fails when schema.bin no longer matches the client-go
// version in go.mod: run `go generate ./internal/apiserver/internal/typeschema`.
func TestEmbeddedSchemaIsCurrent(t *testing.T) {
	want := parseClientGoSchema(t)
	data, err := Encode(want.Schema.Types)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if !bytes.Equal(data, []byte(encoded)) {
		t.Fatalf("schema.bin is stale (%d bytes, client-go's schema encodes to %d): run go generate ./internal/apiserver/internal/typeschema", len(encoded), len(data))
	}
	got, err := Parser()
	if err != nil {
		t.Fatalf("Parser: %v", err)
	}
	// DeepEqual, not schema.Equals: that compares TypeRef.ElementRelationship pointers by
	// identity, so it fails even for two parses of the same YAML.
	if !reflect.DeepEqual(got.Schema.Types, want.Schema.Types) {
		t.Fatal("decoded types differ from the types parsed from client-go's YAML")
	}
}

func TestParserResolvesBuiltInKinds(t *testing.T) {
	p, err := Parser()
	if err != nil {
		t.Fatalf("Parser: %v", err)
	}
	for _, name := range []string{
		"io.k8s.api.batch.v1.Job",
		"io.k8s.api.batch.v1.CronJob",
		"io.k8s.api.core.v1.Pod",
		"io.k8s.api.core.v1.Namespace",
		"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
	} {
		t.Run(name, func(t *testing.T) {
			if !p.Type(name).IsValid() {
				t.Errorf("type %s does not resolve", name)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	str := func(s string) *string { return &s }
	rel := func(r schema.ElementRelationship) *schema.ElementRelationship { return &r }
	scalar := func(s schema.Scalar) *schema.Scalar { return &s }
	tests := []struct {
		name  string
		types []schema.TypeDef
	}{
		{name: "no types", types: []schema.TypeDef{}},
		{name: "scalar", types: []schema.TypeDef{{Name: "s", Atom: schema.Atom{Scalar: scalar(schema.Numeric)}}}},
		{name: "every default kind", types: []schema.TypeDef{{Name: "m", Atom: schema.Atom{Map: &schema.Map{
			Fields: []schema.StructField{
				{Name: "nil", Type: schema.TypeRef{NamedType: str("s")}},
				{Name: "string", Type: schema.TypeRef{NamedType: str("s")}, Default: "x"},
				{Name: "int", Type: schema.TypeRef{NamedType: str("s")}, Default: -86400},
				{Name: "true", Type: schema.TypeRef{NamedType: str("s")}, Default: true},
				{Name: "false", Type: schema.TypeRef{NamedType: str("s")}, Default: false},
				{Name: "float", Type: schema.TypeRef{NamedType: str("s")}, Default: 1.5},
				{Name: "empty map", Type: schema.TypeRef{NamedType: str("s")}, Default: map[interface{}]interface{}{}},
				{Name: "map", Type: schema.TypeRef{NamedType: str("s")}, Default: map[interface{}]interface{}{"a": 1, 2: []interface{}{"b", nil}}},
				{Name: "string map", Type: schema.TypeRef{NamedType: str("s")}, Default: map[string]interface{}{"a": map[string]interface{}{}}},
			},
		}}}}},
		{name: "nil and empty slices stay apart", types: []schema.TypeDef{
			{Name: "empty", Atom: schema.Atom{Map: &schema.Map{Fields: []schema.StructField{}, Unions: []schema.Union{}},
				List: &schema.List{Keys: []string{}}}},
			{Name: "nil", Atom: schema.Atom{Map: &schema.Map{}, List: &schema.List{}}},
		}},
		{name: "references, relationships, unions", types: []schema.TypeDef{{Name: "u", Atom: schema.Atom{Map: &schema.Map{
			Fields: []schema.StructField{{Name: "l", Type: schema.TypeRef{
				Inlined: schema.Atom{List: &schema.List{
					ElementType:         schema.TypeRef{NamedType: str("e"), Nullable: true},
					ElementRelationship: schema.Associative,
					Keys:                []string{"name", "protocol"},
				}},
				ElementRelationship: rel(schema.Atomic),
			}}},
			Unions: []schema.Union{
				{Discriminator: str("type"), DeduceInvalidDiscriminator: true, Fields: []schema.UnionField{{FieldName: "a", DiscriminatorValue: "A"}}},
				{},
			},
			ElementType:         schema.TypeRef{Inlined: schema.Atom{Scalar: scalar(schema.Untyped)}},
			ElementRelationship: schema.Separable,
		}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := Encode(tt.types)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			got, err := Decode(string(data))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, tt.types) {
				t.Errorf("round trip changed the types:\n got %#v\nwant %#v", got, tt.types)
			}
			again, err := Encode(got)
			if err != nil || !bytes.Equal(again, data) {
				t.Errorf("re-encoding differs (err %v)", err)
			}
		})
	}
}

func TestEncodeRejectsUnsupportedDefault(t *testing.T) {
	_, err := Encode([]schema.TypeDef{{Name: "m", Atom: schema.Atom{Map: &schema.Map{
		Fields: []schema.StructField{{Name: "f", Default: struct{}{}}},
	}}}})
	if err == nil {
		t.Fatal("Encode accepted a struct default")
	}
}

func TestDecodeRejectsCorruptData(t *testing.T) {
	valid := encoded
	tests := []struct {
		name string
		data string
	}{
		{name: "empty", data: ""},
		{name: "bad magic", data: "smd0" + valid[4:]},
		{name: "header only", data: valid[:8]},
		{name: "truncated in the string table", data: valid[:len(valid)/8]},
		{name: "truncated in the types", data: valid[:len(valid)-1]},
		{name: "trailing bytes", data: valid + "\x00"},
		{name: "huge count", data: magic + "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"},
		{name: "string index out of range", data: magic + "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x05"},
		{name: "slab overflow", data: magic + "\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x01n\x00\x01\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decode(tt.data); !errors.Is(err, errCorrupt) {
				t.Fatalf("Decode error = %v, want errCorrupt", err)
			}
		})
	}
}

// BenchmarkParser compares building the parser from the embedded encoding with what
// client-go does (typed.NewParser: validate the YAML against the schema schema, then
// parse it).
func BenchmarkParser(b *testing.B) {
	b.Run("embedded", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Parser(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("client-go-yaml", func(b *testing.B) {
		yaml, err := clientGoSchema()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := typed.NewParser(typed.YAMLObject(yaml)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
