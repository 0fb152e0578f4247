package job

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
)

// templateValue renders a pod template the way Kubernetes prints it in the "field is
// immutable" error: Kubernetes converts to its internal types first and JSON-encodes
// them, so the metadata keeps its JSON names ({"labels":...}) while the spec, which has
// no JSON tags internally, shows Go field names ({"Spec":{"Containers":[{"Name":...}]}}).
// The host namespace flags move into SecurityContext as in the internal PodSpec.
func templateValue(t *corev1.PodTemplateSpec) json.RawMessage {
	var buf bytes.Buffer
	buf.WriteByte('{')
	first := true
	meta, err := json.Marshal(t.ObjectMeta)
	if err == nil {
		var fields map[string]json.RawMessage
		if json.Unmarshal(meta, &fields) == nil {
			for _, key := range []string{"name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
				"creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers"} {
				v, ok := fields[key]
				if !ok || string(v) == "null" {
					continue
				}
				if !first {
					buf.WriteByte(',')
				}
				first = false
				writeKey(&buf, key)
				buf.Write(v)
			}
		}
	}
	if !first {
		buf.WriteByte(',')
	}
	writeKey(&buf, "Spec")
	writePodSpec(&buf, &t.Spec)
	buf.WriteByte('}')
	return json.RawMessage(buf.Bytes())
}

// podSpecOrder and securityContextOrder are the field orders of Kubernetes 1.34's
// internal PodSpec and PodSecurityContext (the host namespace flags live in the latter).
// Fields of newer API versions are appended when set.
var (
	podSpecOrder = []string{"Volumes", "InitContainers", "Containers", "EphemeralContainers", "RestartPolicy",
		"TerminationGracePeriodSeconds", "ActiveDeadlineSeconds", "DNSPolicy", "NodeSelector", "ServiceAccountName",
		"AutomountServiceAccountToken", "NodeName", "SecurityContext", "ImagePullSecrets", "Hostname", "Subdomain",
		"SetHostnameAsFQDN", "Affinity", "SchedulerName", "Tolerations", "HostAliases", "PriorityClassName", "Priority",
		"PreemptionPolicy", "DNSConfig", "ReadinessGates", "RuntimeClassName", "Overhead", "EnableServiceLinks",
		"TopologySpreadConstraints", "OS", "SchedulingGates", "ResourceClaims", "Resources", "HostnameOverride"}
	hostFlags            = []string{"HostNetwork", "HostPID", "HostIPC", "ShareProcessNamespace", "HostUsers"}
	securityContextOrder = []string{"SELinuxOptions", "WindowsOptions", "RunAsUser", "RunAsGroup", "RunAsNonRoot",
		"SupplementalGroups", "SupplementalGroupsPolicy", "FSGroup", "FSGroupChangePolicy", "Sysctls", "SeccompProfile",
		"AppArmorProfile", "SELinuxChangePolicy"}
)

func writePodSpec(buf *bytes.Buffer, spec *corev1.PodSpec) {
	v := reflect.ValueOf(spec).Elem()
	skip := append([]string{"DeprecatedServiceAccount"}, hostFlags...)
	writeOrdered(buf, v, podSpecOrder, skip, func(name string) bool {
		if name != "SecurityContext" {
			return false
		}
		sc := spec.SecurityContext
		if sc == nil {
			sc = &corev1.PodSecurityContext{}
		}
		buf.WriteByte('{')
		for j, flag := range hostFlags {
			if j > 0 {
				buf.WriteByte(',')
			}
			writeKey(buf, flag)
			writeGo(buf, v.FieldByName(flag))
		}
		buf.WriteByte(',')
		writeOrderedFields(buf, reflect.ValueOf(sc).Elem(), securityContextOrder, nil, nil)
		buf.WriteByte('}')
		return true
	})
}

// writeOrdered writes struct v as a JSON object with Go field names: first the fields
// named in order, then any other exported field that is set; special may write a
// field's value itself (returning true).
func writeOrdered(buf *bytes.Buffer, v reflect.Value, order, skip []string, special func(string) bool) {
	buf.WriteByte('{')
	writeOrderedFields(buf, v, order, skip, special)
	buf.WriteByte('}')
}

func writeOrderedFields(buf *bytes.Buffer, v reflect.Value, order, skip []string, special func(string) bool) {
	first := true
	write := func(name string, f reflect.Value) {
		if !first {
			buf.WriteByte(',')
		}
		first = false
		writeKey(buf, name)
		if special != nil && special(name) {
			return
		}
		writeGo(buf, f)
	}
	for _, name := range order {
		if f := v.FieldByName(name); f.IsValid() {
			write(name, f)
		}
	}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		name := t.Field(i).Name
		if !t.Field(i).IsExported() || slices.Contains(order, name) || slices.Contains(skip, name) || v.Field(i).IsZero() {
			continue
		}
		write(name, v.Field(i))
	}
}

var jsonMarshaler = reflect.TypeFor[json.Marshaler]()

// writeGo JSON-encodes v with Go field names; types with their own JSON form
// (quantities, times, int-or-strings) keep it.
func writeGo(buf *bytes.Buffer, v reflect.Value) {
	if v.Kind() != reflect.Pointer && v.Kind() != reflect.Interface && (v.Type().Implements(jsonMarshaler) || reflect.PointerTo(v.Type()).Implements(jsonMarshaler)) {
		writeJSON(buf, v.Interface())
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			buf.WriteString("null")
			return
		}
		writeGo(buf, v.Elem())
	case reflect.Struct:
		buf.WriteByte('{')
		n := 0
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			if n > 0 {
				buf.WriteByte(',')
			}
			n++
			writeKey(buf, f.Name)
			writeGo(buf, v.Field(i))
		}
		buf.WriteByte('}')
	case reflect.Slice:
		if v.IsNil() {
			buf.WriteString("null")
			return
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			writeJSON(buf, v.Interface())
			return
		}
		buf.WriteByte('[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeGo(buf, v.Index(i))
		}
		buf.WriteByte(']')
	case reflect.Map:
		if v.IsNil() {
			buf.WriteString("null")
			return
		}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeKey(buf, k.String())
			writeGo(buf, v.MapIndex(k))
		}
		buf.WriteByte('}')
	default:
		writeJSON(buf, v.Interface())
	}
}

func writeKey(buf *bytes.Buffer, key string) {
	writeJSON(buf, key)
	buf.WriteByte(':')
}

func writeJSON(buf *bytes.Buffer, v interface{}) {
	b, err := json.Marshal(v)
	if err != nil {
		buf.WriteString("null")
		return
	}
	buf.Write(b)
}
