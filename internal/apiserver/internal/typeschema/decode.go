package typeschema

import (
	"errors"
	"fmt"
	"math"

	"sigs.k8s.io/structured-merge-diff/v6/schema"
)

// errCorrupt reports data that Encode did not write.
var errCorrupt = errors.New("typeschema: corrupt schema data")

// decoder reads what Encode wrote. Strings are substrings of data (no copies), and
// every kind of value comes from one slab allocated up front from the header's counts.
type decoder struct {
	data string
	pos  int
	err  error

	strings       []string
	maps          []schema.Map
	lists         []schema.List
	scalars       []schema.Scalar
	namedRefs     []string
	relationships []schema.ElementRelationship
	fields        []schema.StructField
	unions        []schema.Union
	unionFields   []schema.UnionField
	keys          []string
}

// Decode reads the type definitions written by Encode. The result is the caller's:
// each call builds new ones.
func Decode(data string) ([]schema.TypeDef, error) {
	if len(data) < len(magic) || data[:len(magic)] != magic {
		return nil, fmt.Errorf("%w: bad magic", errCorrupt)
	}
	d := &decoder{data: data, pos: len(magic)}
	var n counts
	for _, c := range []*int{&n.strings, &n.maps, &n.lists, &n.scalars, &n.namedRefs, &n.relationships,
		&n.fields, &n.unions, &n.unionFields, &n.keys, &n.types} {
		*c = d.count()
	}
	if d.err != nil {
		return nil, d.err
	}
	d.strings = make([]string, n.strings)
	for i := range d.strings {
		l := d.count()
		if d.err != nil || l > len(d.data)-d.pos {
			return nil, fmt.Errorf("%w: string table", errCorrupt)
		}
		d.strings[i] = d.data[d.pos : d.pos+l]
		d.pos += l
	}
	d.maps = make([]schema.Map, 0, n.maps)
	d.lists = make([]schema.List, 0, n.lists)
	d.scalars = make([]schema.Scalar, 0, n.scalars)
	d.namedRefs = make([]string, 0, n.namedRefs)
	d.relationships = make([]schema.ElementRelationship, 0, n.relationships)
	d.fields = make([]schema.StructField, 0, n.fields)
	d.unions = make([]schema.Union, 0, n.unions)
	d.unionFields = make([]schema.UnionField, 0, n.unionFields)
	d.keys = make([]string, 0, n.keys)

	types := make([]schema.TypeDef, n.types)
	for i := range types {
		types[i].Name = d.str()
		d.atom(&types[i].Atom)
		if d.err != nil {
			return nil, d.err
		}
	}
	if d.pos != len(d.data) {
		return nil, fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(d.data)-d.pos)
	}
	return types, nil
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at offset %d", errCorrupt, what, d.pos)
	}
}

// uvarint reads an unsigned varint (binary.Uvarint over a string).
func (d *decoder) uvarint() uint64 {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if d.pos >= len(d.data) {
			d.fail("truncated varint")
			return 0
		}
		b := d.data[d.pos]
		d.pos++
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return v
		}
	}
	d.fail("varint overflow")
	return 0
}

// count reads a non-negative size no larger than the data could describe.
func (d *decoder) count() int {
	v := d.uvarint()
	if v > uint64(len(d.data)) {
		d.fail("size out of range")
		return 0
	}
	return int(v)
}

func (d *decoder) str() string {
	i := d.uvarint()
	if i >= uint64(len(d.strings)) {
		d.fail("string index out of range")
		return ""
	}
	return d.strings[i]
}

// length reads a slice length written by encoder.length; nil reports a nil slice.
func (d *decoder) length() (n int, isNil bool) {
	v := d.count()
	if v == 0 {
		return 0, true
	}
	return v - 1, false
}

// take reserves n elements of a slab (capped, so appends by users cannot overwrite
// the neighbours), failing when the header's count was too small.
func take[T any](d *decoder, slab *[]T, n int) []T {
	if n > cap(*slab)-len(*slab) {
		d.fail("slab overflow")
		return nil
	}
	start := len(*slab)
	*slab = (*slab)[:start+n]
	return (*slab)[start : start+n : start+n]
}

func (d *decoder) atom(a *schema.Atom) {
	flags := d.uvarint()
	if flags&^7 != 0 {
		d.fail("atom flags")
		return
	}
	if flags&1 != 0 {
		if sc := take(d, &d.scalars, 1); sc != nil {
			sc[0] = schema.Scalar(d.str())
			a.Scalar = &sc[0]
		}
	}
	if flags&2 != 0 {
		if l := take(d, &d.lists, 1); l != nil {
			d.list(&l[0])
			a.List = &l[0]
		}
	}
	if flags&4 != 0 {
		if m := take(d, &d.maps, 1); m != nil {
			d.mapBody(&m[0])
			a.Map = &m[0]
		}
	}
}

func (d *decoder) list(l *schema.List) {
	d.typeRef(&l.ElementType)
	l.ElementRelationship = schema.ElementRelationship(d.str())
	if n, isNil := d.length(); !isNil {
		l.Keys = take(d, &d.keys, n)
		for i := range l.Keys {
			l.Keys[i] = d.str()
		}
	}
}

func (d *decoder) mapBody(m *schema.Map) {
	if n, isNil := d.length(); !isNil {
		m.Fields = take(d, &d.fields, n)
		for i := range m.Fields {
			if d.err != nil {
				return
			}
			f := &m.Fields[i]
			f.Name = d.str()
			d.typeRef(&f.Type)
			f.Default = d.value()
		}
	}
	if n, isNil := d.length(); !isNil {
		m.Unions = take(d, &d.unions, n)
		for i := range m.Unions {
			if d.err != nil {
				return
			}
			d.union(&m.Unions[i])
		}
	}
	d.typeRef(&m.ElementType)
	m.ElementRelationship = schema.ElementRelationship(d.str())
}

// namedRef reads a type name or discriminator into the next slot of the namedRefs
// slab and returns a pointer to it (nil once decoding failed).
func (d *decoder) namedRef() *string {
	p := take(d, &d.namedRefs, 1)
	if p == nil {
		return nil
	}
	p[0] = d.str()
	return &p[0]
}

func (d *decoder) union(u *schema.Union) {
	flags := d.uvarint()
	if flags&^3 != 0 {
		d.fail("union flags")
		return
	}
	if flags&1 != 0 {
		u.Discriminator = d.namedRef()
	}
	u.DeduceInvalidDiscriminator = flags&2 != 0
	if n, isNil := d.length(); !isNil {
		u.Fields = take(d, &d.unionFields, n)
		for i := range u.Fields {
			u.Fields[i].FieldName = d.str()
			u.Fields[i].DiscriminatorValue = d.str()
		}
	}
}

func (d *decoder) typeRef(t *schema.TypeRef) {
	flags := d.uvarint()
	if flags&^7 != 0 {
		d.fail("type reference flags")
		return
	}
	if flags&1 != 0 {
		t.NamedType = d.namedRef()
	}
	d.atom(&t.Inlined)
	if flags&2 != 0 {
		if p := take(d, &d.relationships, 1); p != nil {
			p[0] = schema.ElementRelationship(d.str())
			t.ElementRelationship = &p[0]
		}
	}
	t.Nullable = flags&4 != 0
}

// value reads a StructField.Default.
func (d *decoder) value() interface{} {
	switch tag := d.uvarint(); tag {
	case valueNil:
		return nil
	case valueString:
		return d.str()
	case valueInt:
		u := d.uvarint()
		return int(int64(u>>1) ^ -int64(u&1))
	case valueFalse:
		return false
	case valueTrue:
		return true
	case valueFloat:
		return math.Float64frombits(d.uvarint())
	case valueMapAny:
		n := d.count()
		m := make(map[interface{}]interface{}, n)
		for i := 0; i < n && d.err == nil; i++ {
			k := d.value()
			switch k.(type) {
			case map[interface{}]interface{}, map[string]interface{}, []interface{}:
				d.fail("unhashable map key")
				return nil
			}
			m[k] = d.value()
		}
		return m
	case valueMapStr:
		n := d.count()
		m := make(map[string]interface{}, n)
		for i := 0; i < n && d.err == nil; i++ {
			k := d.str()
			m[k] = d.value()
		}
		return m
	case valueSlice:
		n := d.count()
		s := make([]interface{}, n)
		for i := range s {
			if d.err != nil {
				break
			}
			s[i] = d.value()
		}
		return s
	default:
		d.fail(fmt.Sprintf("value tag %d", tag))
		return nil
	}
}
