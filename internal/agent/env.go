package agent

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// configError is a container configuration problem the user must fix (a missing
// ConfigMap key, say); the container waits with CreateContainerConfigError.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

// expand replaces $(VAR) in s with the value lookup gives. `$$` is an escaped `$`;
// references to undefined variables and malformed ones stay as written.
func expand(s string, lookup func(string) (string, bool)) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok && name != "" {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// sourceReader reads the ConfigMaps and Secrets env vars and volumes refer to, caching
// them for one container start.
type sourceReader struct {
	client     kubernetes.Interface
	namespace  string
	configMaps map[string]*corev1.ConfigMap
	secrets    map[string]*corev1.Secret
}

func newSourceReader(client kubernetes.Interface, namespace string) *sourceReader {
	return &sourceReader{client: client, namespace: namespace, configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}}
}

// configMap returns the named ConfigMap, nil if it does not exist.
func (r *sourceReader) configMap(ctx context.Context, name string) (*corev1.ConfigMap, error) {
	if cm, ok := r.configMaps[name]; ok {
		return cm, nil
	}
	cm, err := r.client.CoreV1().ConfigMaps(r.namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		cm, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading configmap %q: %w", name, err)
	}
	r.configMaps[name] = cm
	return cm, nil
}

// secret returns the named Secret, nil if it does not exist.
func (r *sourceReader) secret(ctx context.Context, name string) (*corev1.Secret, error) {
	if s, ok := r.secrets[name]; ok {
		return s, nil
	}
	s, err := r.client.CoreV1().Secrets(r.namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		s, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading secret %q: %w", name, err)
	}
	r.secrets[name] = s
	return s, nil
}

// envVar is one resolved variable, in order.
type envVar struct{ name, value string }

// resolveEnv builds a container's environment as the kubelet does: envFrom sources
// first, then env entries in order, each value expanded against the variables defined
// before it. A missing required source is a *configError.
func resolveEnv(ctx context.Context, src *sourceReader, pod *corev1.Pod, c *corev1.Container, nodeAllocatable corev1.ResourceList) ([]envVar, error) {
	var vars []envVar
	index := map[string]int{}
	set := func(name, value string) {
		if i, ok := index[name]; ok {
			vars[i].value = value
			return
		}
		index[name] = len(vars)
		vars = append(vars, envVar{name, value})
	}
	lookup := func(name string) (string, bool) {
		if i, ok := index[name]; ok {
			return vars[i].value, true
		}
		return "", false
	}
	for _, from := range c.EnvFrom {
		data, err := envFromData(ctx, src, from)
		if err != nil {
			return nil, err
		}
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			set(from.Prefix+k, data[k])
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			set(e.Name, expand(e.Value, lookup))
			continue
		}
		v, ok, err := envValueFrom(ctx, src, pod, c, e.ValueFrom, nodeAllocatable)
		if err != nil {
			return nil, err
		}
		if ok {
			set(e.Name, v)
		}
	}
	return vars, nil
}

func envFromData(ctx context.Context, src *sourceReader, from corev1.EnvFromSource) (map[string]string, error) {
	switch {
	case from.ConfigMapRef != nil:
		cm, err := src.configMap(ctx, from.ConfigMapRef.Name)
		if err != nil {
			return nil, err
		}
		if cm == nil {
			if from.ConfigMapRef.Optional != nil && *from.ConfigMapRef.Optional {
				return nil, nil
			}
			return nil, &configError{fmt.Sprintf("configmap %q not found", from.ConfigMapRef.Name)}
		}
		return cm.Data, nil
	case from.SecretRef != nil:
		s, err := src.secret(ctx, from.SecretRef.Name)
		if err != nil {
			return nil, err
		}
		if s == nil {
			if from.SecretRef.Optional != nil && *from.SecretRef.Optional {
				return nil, nil
			}
			return nil, &configError{fmt.Sprintf("secret %q not found", from.SecretRef.Name)}
		}
		out := make(map[string]string, len(s.Data)+len(s.StringData))
		for k, v := range s.Data {
			out[k] = string(v)
		}
		for k, v := range s.StringData {
			out[k] = v
		}
		return out, nil
	}
	return nil, nil
}

// envValueFrom resolves one valueFrom; ok is false for an optional source that is absent.
func envValueFrom(ctx context.Context, src *sourceReader, pod *corev1.Pod, c *corev1.Container, from *corev1.EnvVarSource, nodeAllocatable corev1.ResourceList) (string, bool, error) {
	switch {
	case from.FieldRef != nil:
		v, err := podFieldValue(pod, from.FieldRef.FieldPath)
		if err != nil {
			return "", false, &configError{err.Error()}
		}
		return v, true, nil
	case from.ResourceFieldRef != nil:
		v, err := resourceFieldValue(pod, c, from.ResourceFieldRef, nodeAllocatable)
		if err != nil {
			return "", false, &configError{err.Error()}
		}
		return v, true, nil
	case from.ConfigMapKeyRef != nil:
		ref := from.ConfigMapKeyRef
		optional := ref.Optional != nil && *ref.Optional
		cm, err := src.configMap(ctx, ref.Name)
		if err != nil {
			return "", false, err
		}
		if cm == nil {
			if optional {
				return "", false, nil
			}
			return "", false, &configError{fmt.Sprintf("configmap %q not found", ref.Name)}
		}
		if v, ok := cm.Data[ref.Key]; ok {
			return v, true, nil
		}
		if v, ok := cm.BinaryData[ref.Key]; ok {
			return string(v), true, nil
		}
		if optional {
			return "", false, nil
		}
		return "", false, &configError{fmt.Sprintf("couldn't find key %s in ConfigMap %s/%s", ref.Key, pod.Namespace, ref.Name)}
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		optional := ref.Optional != nil && *ref.Optional
		s, err := src.secret(ctx, ref.Name)
		if err != nil {
			return "", false, err
		}
		if s == nil {
			if optional {
				return "", false, nil
			}
			return "", false, &configError{fmt.Sprintf("secret %q not found", ref.Name)}
		}
		if v, ok := s.Data[ref.Key]; ok {
			return string(v), true, nil
		}
		if v, ok := s.StringData[ref.Key]; ok {
			return v, true, nil
		}
		if optional {
			return "", false, nil
		}
		return "", false, &configError{fmt.Sprintf("couldn't find key %s in Secret %s/%s", ref.Key, pod.Namespace, ref.Name)}
	}
	return "", false, nil
}

// podFieldValue answers a downward API fieldRef.
func podFieldValue(pod *corev1.Pod, path string) (string, error) {
	if key, ok := subscript(path, "metadata.labels"); ok {
		return pod.Labels[key], nil
	}
	if key, ok := subscript(path, "metadata.annotations"); ok {
		return pod.Annotations[key], nil
	}
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.podIP":
		return podIP, nil
	case "status.hostIPs", "status.podIPs":
		return podIP, nil
	}
	return "", fmt.Errorf("unsupported fieldRef %q", path)
}

// subscript parses `prefix['key']`.
func subscript(path, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(path, prefix+"['")
	if !ok {
		return "", false
	}
	key, ok := strings.CutSuffix(rest, "']")
	return key, ok
}

// formatMap writes labels or annotations as the downward API files hold them:
// sorted `key="value"` lines.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(k + "=" + strconv.Quote(m[k]))
	}
	return b.String()
}

// resourceFieldValue answers a resourceFieldRef: the container's limit or request
// divided by the divisor and rounded up; limits default to the node's allocatable.
func resourceFieldValue(pod *corev1.Pod, c *corev1.Container, ref *corev1.ResourceFieldSelector, nodeAllocatable corev1.ResourceList) (string, error) {
	target := c
	if ref.ContainerName != "" {
		target = findContainer(pod, ref.ContainerName)
		if target == nil {
			return "", fmt.Errorf("container %q not found for resourceFieldRef", ref.ContainerName)
		}
	}
	var q resource.Quantity
	var found bool
	switch ref.Resource {
	case "limits.cpu":
		q, found = target.Resources.Limits[corev1.ResourceCPU]
		if !found {
			q = nodeAllocatable[corev1.ResourceCPU]
		}
	case "limits.memory":
		q, found = target.Resources.Limits[corev1.ResourceMemory]
		if !found {
			q = nodeAllocatable[corev1.ResourceMemory]
		}
	case "limits.ephemeral-storage":
		q = target.Resources.Limits[corev1.ResourceEphemeralStorage]
	case "requests.cpu":
		q = target.Resources.Requests[corev1.ResourceCPU]
	case "requests.memory":
		q = target.Resources.Requests[corev1.ResourceMemory]
	case "requests.ephemeral-storage":
		q = target.Resources.Requests[corev1.ResourceEphemeralStorage]
	default:
		return "", fmt.Errorf("unsupported resourceFieldRef %q", ref.Resource)
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	if strings.HasSuffix(ref.Resource, ".cpu") {
		return strconv.FormatInt(int64(math.Ceil(float64(q.MilliValue())/float64(divisor.MilliValue()))), 10), nil
	}
	return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(divisor.Value()))), 10), nil
}

func findContainer(pod *corev1.Pod, name string) *corev1.Container {
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i]
		}
	}
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	return nil
}

// commandLine expands command and args against the container's environment.
func commandLine(c *corev1.Container, vars []envVar) []string {
	values := make(map[string]string, len(vars))
	for _, v := range vars {
		values[v.name] = v.value
	}
	lookup := func(name string) (string, bool) { v, ok := values[name]; return v, ok }
	argv := make([]string, 0, len(c.Command)+len(c.Args))
	for _, s := range c.Command {
		argv = append(argv, expand(s, lookup))
	}
	for _, s := range c.Args {
		argv = append(argv, expand(s, lookup))
	}
	return argv
}
