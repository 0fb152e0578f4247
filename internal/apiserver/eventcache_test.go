package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func TestWatchEventCache(t *testing.T) {
	res := &resource{}
	key := func(rev int64) eventValueKey {
		return eventValueKey{res: res, key: "/registry/core/pods/default/p", rev: rev}
	}
	tests := []struct {
		name string
		run  func(t *testing.T, c *watchEventCache, decode func() (runtime.Object, error), decodes *atomic.Int32)
	}{
		{
			name: "concurrent watches decode a value once",
			run: func(t *testing.T, c *watchEventCache, decode func() (runtime.Object, error), decodes *atomic.Int32) {
				var wg sync.WaitGroup
				got := make([]*sharedObject, 8)
				for i := range got {
					wg.Add(1)
					go func() {
						defer wg.Done()
						so, err := c.get(key(1), 10, decode)
						if err != nil {
							t.Error(err)
						}
						got[i] = so
					}()
				}
				wg.Wait()
				if n := decodes.Load(); n != 1 {
					t.Errorf("decoded %d times, want 1", n)
				}
				for _, so := range got[1:] {
					if so != got[0] {
						t.Errorf("watches got different objects")
					}
				}
			},
		},
		{
			name: "current and previous values are different entries",
			run: func(t *testing.T, c *watchEventCache, decode func() (runtime.Object, error), decodes *atomic.Int32) {
				prev := key(1)
				prev.prev = true
				for _, k := range []eventValueKey{key(1), prev, key(1), prev} {
					if _, err := c.get(k, 10, decode); err != nil {
						t.Fatal(err)
					}
				}
				if n := decodes.Load(); n != 2 {
					t.Errorf("decoded %d times, want 2", n)
				}
			},
		},
		{
			name: "the oldest values are evicted",
			run: func(t *testing.T, c *watchEventCache, decode func() (runtime.Object, error), decodes *atomic.Int32) {
				for rev := int64(1); rev <= 10; rev++ {
					if _, err := c.get(key(rev), 10, decode); err != nil {
						t.Fatal(err)
					}
				}
				if n := len(c.entries); n != 4 {
					t.Errorf("%d entries, want 4", n)
				}
				if _, err := c.get(key(10), 10, decode); err != nil || decodes.Load() != 10 {
					t.Errorf("newest value decoded again (%d decodes, err %v)", decodes.Load(), err)
				}
				if _, err := c.get(key(1), 10, decode); err != nil || decodes.Load() != 11 {
					t.Errorf("evicted value not decoded again (%d decodes, err %v)", decodes.Load(), err)
				}
				if n := len(c.entries); n != 4 {
					t.Errorf("%d entries, want 4", n)
				}
			},
		},
		{
			name: "large values are evicted to stay within the byte bound",
			run: func(t *testing.T, c *watchEventCache, decode func() (runtime.Object, error), decodes *atomic.Int32) {
				// Each costs 600 of the 1000 bytes: only the newest stays.
				for rev := int64(1); rev <= 3; rev++ {
					if _, err := c.get(key(rev), 100, decode); err != nil {
						t.Fatal(err)
					}
				}
				if len(c.entries) != 1 || c.bytes != 600 {
					t.Errorf("%d entries of %d bytes, want 1 of 600", len(c.entries), c.bytes)
				}
				if _, err := c.get(key(3), 100, decode); err != nil || decodes.Load() != 3 {
					t.Errorf("newest value decoded again (%d decodes, err %v)", decodes.Load(), err)
				}
				// A value larger than the bound is still shared while it is the newest.
				if _, err := c.get(key(4), 1000, decode); err != nil || len(c.entries) != 1 {
					t.Errorf("oversized value: %d entries, err %v", len(c.entries), err)
				}
			},
		},
		{
			name: "a decode error reaches every watch",
			run: func(t *testing.T, c *watchEventCache, _ func() (runtime.Object, error), decodes *atomic.Int32) {
				bad := errors.New("bad value")
				for range 2 {
					if _, err := c.get(key(1), 10, func() (runtime.Object, error) { decodes.Add(1); return nil, bad }); !errors.Is(err, bad) {
						t.Errorf("got %v, want %v", err, bad)
					}
				}
				if n := decodes.Load(); n != 1 {
					t.Errorf("decoded %d times, want 1", n)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var decodes atomic.Int32
			decode := func() (runtime.Object, error) {
				decodes.Add(1)
				return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}, nil
			}
			tt.run(t, newWatchEventCache(4, 1000), decode, &decodes)
		})
	}
}

// TestWatchesShareEvents: watches of every kind (JSON, protobuf, tables with the
// object, partial metadata, a selector) see one change at the same time, each in its
// own form, and no watch sees another's changes to the shared object.
func TestWatchesShareEvents(t *testing.T) {
	e := newTestEnv(t)
	const podPath = "/api/v1/namespaces/default/pods"
	created := e.mustDo(http.StatusCreated, "POST", podPath, "application/json",
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"app":"a"}},"spec":{"nodeName":"n1","containers":[{"name":"c","image":"i"}]}}`)
	var pod corev1.Pod
	created.decode(t, &pod)
	from := "?watch=true&resourceVersion=" + pod.ResourceVersion

	plain := []*watchReader{e.watch(podPath + from), e.watch(podPath + from)}
	tables := []*watchReader{
		e.watch(podPath+from+"&includeObject=Object", "Accept: "+tableAccept),
		e.watch(podPath+from+"&includeObject=Object", "Accept: "+tableAccept),
	}
	metadata := e.watch(podPath+from, "Accept: application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1")
	selected := e.watch(podPath + from + "&labelSelector=app%3Da")
	client, err := kubernetes.NewForConfig(&rest.Config{Host: e.http.URL, ContentConfig: rest.ContentConfig{ContentType: mediaProtobuf}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	typed, err := client.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{ResourceVersion: pod.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer typed.Stop()

	e.mustDo(http.StatusOK, "PATCH", podPath+"/p", "application/merge-patch+json", `{"metadata":{"labels":{"app":"b"}}}`)

	for i, w := range plain {
		var got corev1.Pod
		decodeEvent(t, w.expect("MODIFIED", "p"), &got)
		if got.Kind != "Pod" || got.Labels["app"] != "b" || got.Spec.NodeName != "n1" {
			t.Errorf("plain watch %d: %+v", i, got)
		}
	}
	for i, w := range tables {
		ev := w.next()
		var table metav1.Table
		decodeEvent(t, ev, &table)
		if ev.Type != "MODIFIED" || len(table.Rows) != 1 {
			t.Fatalf("table watch %d: %s %+v", i, ev.Type, table)
		}
		var got corev1.Pod
		if err := json.Unmarshal(table.Rows[0].Object.Raw, &got); err != nil || got.Kind != "Pod" || got.Labels["app"] != "b" {
			t.Errorf("table watch %d row object: %v %s", i, err, table.Rows[0].Object.Raw)
		}
	}
	var partial metav1.PartialObjectMetadata
	decodeEvent(t, metadata.expect("MODIFIED", "p"), &partial)
	if partial.Kind != "PartialObjectMetadata" || partial.Labels["app"] != "b" {
		t.Errorf("metadata watch: %+v", partial)
	}
	var gone corev1.Pod
	decodeEvent(t, selected.expect("DELETED", "p"), &gone)
	if gone.Labels["app"] != "a" {
		t.Errorf("selector watch: DELETED carries labels %v, want the last matching state", gone.Labels)
	}
	select {
	case ev := <-typed.ResultChan():
		if got, ok := ev.Object.(*corev1.Pod); ev.Type != watch.Modified || !ok || got.Labels["app"] != "b" {
			t.Errorf("protobuf watch: %s %+v", ev.Type, ev.Object)
		}
	case <-ctx.Done():
		t.Fatal("protobuf watch: no event")
	}
}

func decodeEvent(t *testing.T, ev rawEvent, into any) {
	t.Helper()
	if err := json.Unmarshal(ev.Object, into); err != nil {
		t.Fatal(fmt.Errorf("decoding %s event: %w", ev.Type, err))
	}
}
