package typeschema

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"

	"sigs.k8s.io/structured-merge-diff/v6/schema"
)

// The encoding, all integers unsigned varints unless said otherwise:
//
//	magic "smd1"
//	header: strings maps lists scalars namedRefs relationships fields unions unionFields keys types
//	        (the counts of each kind of value, so that the decoder allocates each once)
//	string table: per string its length and bytes; values below refer to strings by index
//	types: per TypeDef its name and Atom
//
//	Atom:     flags (1 scalar, 2 list, 4 map), then the scalar's string, the List, the Map
//	TypeRef:  flags (1 namedType, 2 elementRelationship, 4 nullable), namedType, Atom,
//	          elementRelationship
//	List:     elementType TypeRef, elementRelationship, keys (count+1, 0 = nil slice)
//	Map:      fields (count+1), each name, TypeRef, default value; unions (count+1), each
//	          flags (1 discriminator, 2 deduceInvalidDiscriminator), discriminator,
//	          fields (count+1), each fieldName, discriminatorValue; elementType TypeRef;
//	          elementRelationship
//	default:  a tag (see the value* constants) and the value
const magic = "smd1"

// Tags of StructField.Default values, which hold what YAML decoding produced.
const (
	valueNil = iota
	valueString
	valueInt     // zig-zag varint
	valueFalse   //
	valueTrue    //
	valueFloat   // IEEE 754 bits
	valueMapAny  // map[interface{}]interface{}: count, then key and value of each
	valueMapStr  // map[string]interface{}: count, then key string and value of each
	valueSlice   // []interface{}: count, then each value
	valueUnknown // never written: the first unsupported tag
)

// counts are the sizes of the decoder's slabs, in header order.
type counts struct {
	strings, maps, lists, scalars, namedRefs, relationships, fields, unions, unionFields, keys, types int
}

// encoder writes a Schema; the body is built first because the header needs its counts.
type encoder struct {
	body    []byte
	strings map[string]int
	order   []string
	n       counts
}

// Encode returns the compact form of a schema's type definitions that Decode reads. It
// is deterministic: the same types always encode to the same bytes.
func Encode(types []schema.TypeDef) ([]byte, error) {
	e := &encoder{strings: map[string]int{}}
	e.n.types = len(types)
	for i := range types {
		e.str(types[i].Name)
		if err := e.atom(&types[i].Atom); err != nil {
			return nil, fmt.Errorf("type %s: %w", types[i].Name, err)
		}
	}
	out := []byte(magic)
	e.n.strings = len(e.order)
	for _, c := range []int{e.n.strings, e.n.maps, e.n.lists, e.n.scalars, e.n.namedRefs, e.n.relationships,
		e.n.fields, e.n.unions, e.n.unionFields, e.n.keys, e.n.types} {
		out = binary.AppendUvarint(out, uint64(c))
	}
	for _, str := range e.order {
		out = binary.AppendUvarint(out, uint64(len(str)))
		out = append(out, str...)
	}
	return append(out, e.body...), nil
}

func (e *encoder) uint(v int) { e.body = binary.AppendUvarint(e.body, uint64(v)) }

func (e *encoder) str(s string) {
	i, ok := e.strings[s]
	if !ok {
		i = len(e.order)
		e.strings[s] = i
		e.order = append(e.order, s)
	}
	e.uint(i)
}

// length writes a slice length, keeping nil and empty apart.
func (e *encoder) length(n int, isNil bool) {
	if isNil {
		e.uint(0)
		return
	}
	e.uint(n + 1)
}

func (e *encoder) atom(a *schema.Atom) error {
	var flags int
	if a.Scalar != nil {
		flags |= 1
	}
	if a.List != nil {
		flags |= 2
	}
	if a.Map != nil {
		flags |= 4
	}
	e.uint(flags)
	if a.Scalar != nil {
		e.n.scalars++
		e.str(string(*a.Scalar))
	}
	if a.List != nil {
		e.n.lists++
		if err := e.typeRef(&a.List.ElementType); err != nil {
			return err
		}
		e.str(string(a.List.ElementRelationship))
		e.length(len(a.List.Keys), a.List.Keys == nil)
		e.n.keys += len(a.List.Keys)
		for _, k := range a.List.Keys {
			e.str(k)
		}
	}
	if a.Map != nil {
		e.n.maps++
		return e.mapBody(a.Map)
	}
	return nil
}

func (e *encoder) mapBody(m *schema.Map) error {
	e.length(len(m.Fields), m.Fields == nil)
	e.n.fields += len(m.Fields)
	for i := range m.Fields {
		f := &m.Fields[i]
		e.str(f.Name)
		if err := e.typeRef(&f.Type); err != nil {
			return fmt.Errorf("field %s: %w", f.Name, err)
		}
		if err := e.value(f.Default); err != nil {
			return fmt.Errorf("field %s: default: %w", f.Name, err)
		}
	}
	e.length(len(m.Unions), m.Unions == nil)
	e.n.unions += len(m.Unions)
	for _, u := range m.Unions {
		var flags int
		if u.Discriminator != nil {
			flags |= 1
			e.n.namedRefs++
		}
		if u.DeduceInvalidDiscriminator {
			flags |= 2
		}
		e.uint(flags)
		if u.Discriminator != nil {
			e.str(*u.Discriminator)
		}
		e.length(len(u.Fields), u.Fields == nil)
		e.n.unionFields += len(u.Fields)
		for _, f := range u.Fields {
			e.str(f.FieldName)
			e.str(f.DiscriminatorValue)
		}
	}
	if err := e.typeRef(&m.ElementType); err != nil {
		return err
	}
	e.str(string(m.ElementRelationship))
	return nil
}

func (e *encoder) typeRef(t *schema.TypeRef) error {
	var flags int
	if t.NamedType != nil {
		flags |= 1
		e.n.namedRefs++
	}
	if t.ElementRelationship != nil {
		flags |= 2
		e.n.relationships++
	}
	if t.Nullable {
		flags |= 4
	}
	e.uint(flags)
	if t.NamedType != nil {
		e.str(*t.NamedType)
	}
	if err := e.atom(&t.Inlined); err != nil {
		return err
	}
	if t.ElementRelationship != nil {
		e.str(string(*t.ElementRelationship))
	}
	return nil
}

func (e *encoder) value(v interface{}) error {
	switch v := v.(type) {
	case nil:
		e.uint(valueNil)
	case string:
		e.uint(valueString)
		e.str(v)
	case int:
		e.uint(valueInt)
		e.body = binary.AppendVarint(e.body, int64(v))
	case bool:
		if v {
			e.uint(valueTrue)
		} else {
			e.uint(valueFalse)
		}
	case float64:
		e.uint(valueFloat)
		e.body = binary.AppendUvarint(e.body, math.Float64bits(v))
	case map[interface{}]interface{}:
		e.uint(valueMapAny)
		e.uint(len(v))
		keys := make([]interface{}, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		// Map order is random; sort by the keys' printed form to stay deterministic.
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		for _, k := range keys {
			if err := e.value(k); err != nil {
				return err
			}
			if err := e.value(v[k]); err != nil {
				return err
			}
		}
	case map[string]interface{}:
		e.uint(valueMapStr)
		e.uint(len(v))
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			e.str(k)
			if err := e.value(v[k]); err != nil {
				return err
			}
		}
	case []interface{}:
		e.uint(valueSlice)
		e.uint(len(v))
		for _, item := range v {
			if err := e.value(item); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("unsupported value type %T", v)
	}
	return nil
}
