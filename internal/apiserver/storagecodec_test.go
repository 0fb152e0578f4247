package apiserver

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kjet-dev/kjet/internal/registry/catalog"
)

// TestStorageEncodingIsProtobuf: every resource kjet serves is stored as protobuf, and
// decodes back to the same object without its resourceVersion.
func TestStorageEncodingIsProtobuf(t *testing.T) {
	c, err := newCodecs()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range catalog.Resources() {
		t.Run(r.GroupVersionResource.GroupResource().String(), func(t *testing.T) {
			obj := r.New()
			accessor, err := metaAccessor(obj)
			if err != nil {
				t.Fatal(err)
			}
			accessor.SetName("x")
			accessor.SetLabels(map[string]string{"a": "b"})
			accessor.SetResourceVersion("42")
			gvk := r.GroupVersionResource.GroupVersion().WithKind(r.Kind)
			data, err := c.encodeStorage(obj, gvk)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(data, storageProtobufPrefix) {
				t.Fatalf("stored as %q, want protobuf", data)
			}
			if accessor.GetResourceVersion() != "42" {
				t.Errorf("encodeStorage changed the caller's resourceVersion to %q", accessor.GetResourceVersion())
			}
			got := r.New()
			if err := c.decodeStorage(data, got); err != nil {
				t.Fatal(err)
			}
			accessor.SetResourceVersion("")
			if !apiequality.Semantic.DeepEqual(got, obj) {
				t.Errorf("round trip: got %#v, want %#v", got, obj)
			}
		})
	}
}

// legacyJSONPod is a pod as kjet stored it before values were protobuf.
const legacyJSONPod = `{"kind":"Pod","apiVersion":"v1","metadata":{"name":"old","namespace":"default","uid":"u1","creationTimestamp":"2026-11-22T10:00:00Z","labels":{"app":"old"}},"spec":{"nodeName":"n1","containers":[{"name":"c","image":"i"}]},"status":{"phase":"Running"}}
`

// TestLegacyJSONStorage: values written as JSON by older kjet versions are still read,
// listed and watched, and rewritten as protobuf on their next change.
func TestLegacyJSONStorage(t *testing.T) {
	e := newTestEnv(t)
	res := e.server.byGroupVersion["v1"]["pods"]
	ctx := context.Background()
	key := res.key("default", "old")
	rev, err := e.server.store.Create(ctx, key, []byte(legacyJSONPod))
	if err != nil {
		t.Fatal(err)
	}

	var pod corev1.Pod
	e.mustDo(http.StatusOK, "GET", "/api/v1/namespaces/default/pods/old", "", "").decode(t, &pod)
	if pod.Labels["app"] != "old" || pod.Spec.NodeName != "n1" || pod.Status.Phase != corev1.PodRunning {
		t.Errorf("legacy pod read back as %+v", pod)
	}
	if want := strconv.FormatInt(rev, 10); pod.ResourceVersion != want {
		t.Errorf("resourceVersion %q, want %q", pod.ResourceVersion, want)
	}
	var list corev1.PodList
	e.mustDo(http.StatusOK, "GET", "/api/v1/namespaces/default/pods", "", "").decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].Name != "old" {
		t.Errorf("list: %+v", list.Items)
	}

	w := e.watch("/api/v1/namespaces/default/pods?watch=true&fieldSelector=spec.nodeName%3Dn1&resourceVersion=" + strconv.FormatInt(rev-1, 10))
	w.expect("ADDED", "old")

	e.mustDo(http.StatusOK, "PATCH", "/api/v1/namespaces/default/pods/old", "application/merge-patch+json", `{"metadata":{"labels":{"app":"new"}}}`)
	w.expect("MODIFIED", "old")
	kv, err := e.server.store.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(kv.Value, storageProtobufPrefix) {
		t.Errorf("after an update the pod is still stored as %q, want protobuf", kv.Value)
	}
}

// TestLegacyJSONNoOpUpdate: an update that changes nothing leaves a value older kjet
// versions stored as JSON alone: no write, no new resourceVersion.
func TestLegacyJSONNoOpUpdate(t *testing.T) {
	e := newTestEnv(t)
	res := e.server.byGroupVersion["v1"]["configmaps"]
	ctx := context.Background()
	const path = "/api/v1/namespaces/default/configmaps/cm"
	e.mustDo(http.StatusCreated, "POST", "/api/v1/namespaces/default/configmaps", "application/json",
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm","labels":{"app":"a"}},"data":{"k":"v"}}`)

	// Rewrite the stored value as the JSON an older kjet would have written.
	key := res.key("default", "cm")
	kv, err := e.server.store.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := e.server.decodeKV(res, kv.Value, kv.ModRevision)
	if err != nil {
		t.Fatal(err)
	}
	obj.(*corev1.ConfigMap).ResourceVersion = ""
	var buf bytes.Buffer
	if err := e.server.codecs.json.Encode(obj, &buf); err != nil {
		t.Fatal(err)
	}
	rev, err := e.server.store.Update(ctx, key, buf.Bytes(), kv.ModRevision)
	if err != nil {
		t.Fatal(err)
	}

	var cm corev1.ConfigMap
	e.mustDo(http.StatusOK, "PATCH", path, "application/merge-patch+json", `{"metadata":{"labels":{"app":"a"}}}`).decode(t, &cm)
	if want := strconv.FormatInt(rev, 10); cm.ResourceVersion != want {
		t.Errorf("a no-op patch of a JSON-stored value moved resourceVersion to %s, want %s", cm.ResourceVersion, want)
	}
	after, err := e.server.store.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after.Value, buf.Bytes()) {
		t.Errorf("a no-op patch rewrote the JSON-stored value")
	}
}

// TestEncodeProtobufMatchesSerializer: the exact-size encoding gives the protobuf
// serializer's own bytes for every resource kjet serves (and for a pod with content).
func TestEncodeProtobufMatchesSerializer(t *testing.T) {
	c, err := newCodecs()
	if err != nil {
		t.Fatal(err)
	}
	pod := benchPod("a")
	pod.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Pod"))
	objs := []runtime.Object{pod}
	for _, r := range catalog.Resources() {
		obj := r.New()
		obj.GetObjectKind().SetGroupVersionKind(r.GroupVersionResource.GroupVersion().WithKind(r.Kind))
		objs = append(objs, obj)
	}
	for _, obj := range objs {
		if _, ok := obj.(protobufObject); !ok {
			continue
		}
		want := &bytes.Buffer{}
		if err := c.protobuf.Encode(obj, want); err != nil {
			t.Fatalf("%T: serializer: %v", obj, err)
		}
		got, err := c.encodeProtobuf(obj)
		if err != nil {
			t.Fatalf("%T: encodeProtobuf: %v", obj, err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%T: encodeProtobuf differs from the serializer's encoding", obj)
		}
	}
}

// TestProtobufBufferWrites: a write of the buffer it allocated is kept without a copy;
// other writes are copied and appended.
func TestProtobufBufferWrites(t *testing.T) {
	var b protobufBuffer
	data := b.Allocate(8)
	copy(data, "abcdefgh")
	if _, err := b.Write(data[:6]); err != nil {
		t.Fatal(err)
	}
	if &b.out[0] != &data[0] || string(b.out) != "abcdef" {
		t.Fatalf("allocated buffer not kept as is: %q", b.out)
	}
	other := []byte("xy")
	if _, err := b.Write(other); err != nil {
		t.Fatal(err)
	}
	other[0] = 'z'
	if string(b.out) != "abcdefxy" {
		t.Fatalf("after a second write: %q", b.out)
	}

	var fresh protobufBuffer
	if _, err := fresh.Write(other); err != nil {
		t.Fatal(err)
	}
	other[1] = 'w'
	if string(fresh.out) != "zy" {
		t.Fatalf("a buffer it did not allocate was not copied: %q", fresh.out)
	}
}
