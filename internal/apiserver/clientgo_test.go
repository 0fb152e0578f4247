package apiserver

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

func TestClientGo(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
	}{
		{name: "json", contentType: "application/json"},
		{name: "protobuf", contentType: "application/vnd.kubernetes.protobuf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			client, err := kubernetes.NewForConfig(&rest.Config{Host: e.http.URL, ContentConfig: rest.ContentConfig{ContentType: tt.contentType}})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cms := client.CoreV1().ConfigMaps("default")

			created, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: map[string]string{"app": "x"}}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			got, err := cms.Get(ctx, "a", metav1.GetOptions{})
			if err != nil || got.UID != created.UID || got.Data["k"] != "v" {
				t.Fatalf("get: %v %+v", err, got)
			}
			list, err := cms.List(ctx, metav1.ListOptions{LabelSelector: "app=x"})
			if err != nil || len(list.Items) != 1 {
				t.Fatalf("list: %v %+v", err, list)
			}
			w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
			if err != nil {
				t.Fatalf("watch: %v", err)
			}
			defer w.Stop()
			patched, err := cms.Patch(ctx, "a", types.StrategicMergePatchType, []byte(`{"data":{"k":"w"}}`), metav1.PatchOptions{})
			if err != nil || patched.Data["k"] != "w" {
				t.Fatalf("patch: %v %+v", err, patched)
			}
			select {
			case ev := <-w.ResultChan():
				if ev.Type != watch.Modified || ev.Object.(*corev1.ConfigMap).Data["k"] != "w" {
					t.Fatalf("watch event %v %+v", ev.Type, ev.Object)
				}
			case <-ctx.Done():
				t.Fatal("no watch event")
			}
			applied, err := cms.Apply(ctx, corev1ac.ConfigMap("b", "default").WithData(map[string]string{"s": "sa"}), metav1.ApplyOptions{FieldManager: "test"})
			if err != nil || applied.Data["s"] != "sa" {
				t.Fatalf("apply: %v %+v", err, applied)
			}
			got.Data["k"] = "stale"
			if _, err := cms.Update(ctx, got, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
				t.Fatalf("stale update: %v", err)
			}
			if err := cms.Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
				t.Fatalf("delete: %v", err)
			}
			if _, err := cms.Get(ctx, "a", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Fatalf("get after delete: %v", err)
			}
		})
	}
}

// TestInformer runs a shared informer with client-go's default settings (WatchList
// first) and checks that it syncs and sees later changes.
func TestInformer(t *testing.T) {
	e := newTestEnv(t)
	e.mustDo(201, "POST", cmPath, "application/json", cmJSON("before", ""))
	client, err := kubernetes.NewForConfig(&rest.Config{Host: e.http.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	factory := informers.NewSharedInformerFactory(client, 0)
	informer := factory.Core().V1().ConfigMaps().Informer()
	var mu sync.Mutex
	seen := map[string]string{} // name -> last event
	_, err = informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj interface{}) {
			mu.Lock()
			defer mu.Unlock()
			seen[obj.(*corev1.ConfigMap).Name] = "add"
		},
		UpdateFunc: func(_, obj interface{}) {
			mu.Lock()
			defer mu.Unlock()
			seen[obj.(*corev1.ConfigMap).Name] = "update:" + obj.(*corev1.ConfigMap).Data["k"]
		},
		DeleteFunc: func(obj interface{}) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			mu.Lock()
			defer mu.Unlock()
			seen[obj.(*corev1.ConfigMap).Name] = "delete"
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	t.Cleanup(func() {
		cancel()
		factory.Shutdown()
	})
	syncCtx, syncCancel := context.WithTimeout(ctx, 10*time.Second)
	defer syncCancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), informer.HasSynced) {
		t.Fatal("informer did not sync")
	}
	state := func(name string) string {
		mu.Lock()
		defer mu.Unlock()
		return seen[name]
	}
	if state("before") != "add" {
		t.Fatalf("initial state = %v", state("before"))
	}
	e.mustDo(201, "POST", cmPath, "application/json", cmJSON("after", ""))
	waitFor(t, func() bool { return state("after") == "add" })
	e.mustDo(200, "PATCH", cmPath+"/after", "application/merge-patch+json", `{"data":{"k":"2"}}`)
	waitFor(t, func() bool { return state("after") == "update:2" })
	e.mustDo(200, "DELETE", cmPath+"/before", "", "")
	waitFor(t, func() bool { return state("before") == "delete" })
	usedWatchList := false
	for _, req := range e.requestLog() {
		if strings.Contains(req, "sendInitialEvents=true") {
			usedWatchList = true
		}
	}
	if !usedWatchList {
		t.Errorf("the informer did not use WatchList: %v", e.requestLog())
	}
}

// TestMetadataClient drives the metadata-only client (what garbage collectors use):
// PartialObjectMetadata lists and watches, protobuf preferred.
func TestMetadataClient(t *testing.T) {
	e := newTestEnv(t)
	e.mustDo(201, "POST", cmPath, "application/json", cmJSON("a", `"x":"1"`))
	client, err := metadata.NewForConfig(&rest.Config{Host: e.http.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	gvr := corev1.SchemeGroupVersion.WithResource("configmaps")
	list, err := client.Resource(gvr).Namespace("default").List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 1 || list.Items[0].Labels["x"] != "1" {
		t.Fatalf("list: %v %+v", err, list)
	}
	one, err := client.Resource(gvr).Namespace("default").Get(ctx, "a", metav1.GetOptions{})
	if err != nil || one.UID == "" {
		t.Fatalf("get: %v %+v", err, one)
	}
	w, err := client.Resource(gvr).Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	e.mustDo(200, "PATCH", cmPath+"/a", "application/merge-patch+json", `{"metadata":{"labels":{"x":"2"}}}`)
	select {
	case ev := <-w.ResultChan():
		pom, ok := ev.Object.(*metav1.PartialObjectMetadata)
		if ev.Type != watch.Modified || !ok || pom.Labels["x"] != "2" {
			t.Fatalf("event %v %#v", ev.Type, ev.Object)
		}
	case <-ctx.Done():
		t.Fatal("no event")
	}
	if _, err := client.Resource(gvr).Namespace("default").Patch(ctx, "a", types.MergePatchType, []byte(`{"metadata":{"ownerReferences":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatalf("patch: %v", err)
	}
}
