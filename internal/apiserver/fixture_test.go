package apiserver

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/version"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/kjet-dev/kjet/internal/registry"
	"github.com/kjet-dev/kjet/internal/storage/memory"
)

// testStrategy is a minimal registry.Strategy for the test resources: ConfigMaps with a
// data key "invalid" fail validation; spec (or data) changes bump generation.
type testStrategy struct {
	extraFields func(obj runtime.Object) fields.Set
}

var _ registry.Strategy = testStrategy{}

func (testStrategy) PrepareForCreate(ctx context.Context, obj runtime.Object) {
	if job, ok := obj.(*batchv1.Job); ok {
		job.Status = batchv1.JobStatus{}
	}
}

func (testStrategy) Validate(ctx context.Context, obj runtime.Object) field.ErrorList {
	if cm, ok := obj.(*corev1.ConfigMap); ok {
		if _, bad := cm.Data["invalid"]; bad {
			return field.ErrorList{field.Invalid(field.NewPath("data").Key("invalid"), cm.Data["invalid"], "must not be set")}
		}
	}
	return nil
}

func (testStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	if job, ok := obj.(*batchv1.Job); ok {
		job.Status = old.(*batchv1.Job).Status
	}
}

func (testStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	return nil
}

func (testStrategy) SpecChanged(obj, old runtime.Object) bool {
	switch o := obj.(type) {
	case *batchv1.Job:
		return !apiequality.Semantic.DeepEqual(o.Spec, old.(*batchv1.Job).Spec)
	case *corev1.ConfigMap:
		return !apiequality.Semantic.DeepEqual(o.Data, old.(*corev1.ConfigMap).Data)
	case *corev1.Pod:
		return !apiequality.Semantic.DeepEqual(o.Spec, old.(*corev1.Pod).Spec)
	}
	return false
}

func (testStrategy) WarningsOnCreate(ctx context.Context, obj runtime.Object) []string {
	return nil
}

func (s testStrategy) AttrsFunc(obj runtime.Object) (labels.Set, fields.Set, error) {
	accessor, err := meta.Accessor(obj)
	if err != nil {
		return nil, nil, err
	}
	f := fields.Set{"metadata.name": accessor.GetName(), "metadata.namespace": accessor.GetNamespace()}
	if s.extraFields != nil {
		for k, v := range s.extraFields(obj) {
			f[k] = v
		}
	}
	return labels.Set(accessor.GetLabels()), f, nil
}

// testStatusStrategy keeps everything but status from the old object.
type testStatusStrategy struct{}

func (testStatusStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	switch o := obj.(type) {
	case *batchv1.Job:
		status := o.Status
		*o = *old.(*batchv1.Job).DeepCopy()
		o.Status = status
	case *corev1.Pod:
		status := o.Status
		*o = *old.(*corev1.Pod).DeepCopy()
		o.Status = status
	}
}

func (testStatusStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	return nil
}

// testResources are the resources the handler tests serve.
func testResources() []registry.Resource {
	return []registry.Resource{
		{
			GroupVersionResource: corev1.SchemeGroupVersion.WithResource("namespaces"),
			Kind:                 "Namespace", SingularName: "namespace", ShortNames: []string{"ns"},
			New:     func() runtime.Object { return &corev1.Namespace{} },
			NewList: func() runtime.Object { return &corev1.NamespaceList{} },
			Strategy: testStrategy{extraFields: func(obj runtime.Object) fields.Set {
				return fields.Set{"status.phase": string(obj.(*corev1.Namespace).Status.Phase)}
			}},
		},
		{
			GroupVersionResource: corev1.SchemeGroupVersion.WithResource("configmaps"),
			Kind:                 "ConfigMap", SingularName: "configmap", ShortNames: []string{"cm"}, Namespaced: true,
			New:      func() runtime.Object { return &corev1.ConfigMap{} },
			NewList:  func() runtime.Object { return &corev1.ConfigMapList{} },
			Strategy: testStrategy{},
		},
		{
			GroupVersionResource: corev1.SchemeGroupVersion.WithResource("serviceaccounts"),
			Kind:                 "ServiceAccount", SingularName: "serviceaccount", Namespaced: true,
			New:      func() runtime.Object { return &corev1.ServiceAccount{} },
			NewList:  func() runtime.Object { return &corev1.ServiceAccountList{} },
			Strategy: testStrategy{},
		},
		{
			GroupVersionResource: corev1.SchemeGroupVersion.WithResource("pods"),
			Kind:                 "Pod", SingularName: "pod", ShortNames: []string{"po"}, Categories: []string{"all"}, Namespaced: true,
			New:     func() runtime.Object { return &corev1.Pod{} },
			NewList: func() runtime.Object { return &corev1.PodList{} },
			Strategy: testStrategy{extraFields: func(obj runtime.Object) fields.Set {
				pod := obj.(*corev1.Pod)
				return fields.Set{"spec.nodeName": pod.Spec.NodeName, "status.phase": string(pod.Status.Phase)}
			}},
			Status: testStatusStrategy{},
			GracefulDelete: func(obj runtime.Object, requested *int64) int64 {
				pod := obj.(*corev1.Pod)
				if pod.Spec.NodeName == "" {
					return 0
				}
				if requested != nil {
					return *requested
				}
				return 30
			},
		},
		{
			GroupVersionResource: batchv1.SchemeGroupVersion.WithResource("jobs"),
			Kind:                 "Job", SingularName: "job", Categories: []string{"all"}, Namespaced: true,
			New:                func() runtime.Object { return &batchv1.Job{} },
			NewList:            func() runtime.Object { return &batchv1.JobList{} },
			Strategy:           testStrategy{},
			Status:             testStatusStrategy{},
			DefaultPropagation: metav1.DeletePropagationOrphan,
			DeleteWarning:      "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning",
		},
	}
}

// testEnv is a server over a memory store with the default namespace bootstrapped.
type testEnv struct {
	t      testing.TB
	server *Server
	http   *httptest.Server
	clock  *clocktesting.FakeClock

	mu       sync.Mutex
	requests []string // guarded by mu
}

var testNow = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func newTestEnv(t testing.TB, mutate ...func(*Options)) *testEnv {
	t.Helper()
	fakeClock := clocktesting.NewFakeClock(testNow)
	opts := Options{
		Storage:   memory.New(memory.Options{}),
		Resources: testResources(),
		Clock:     fakeClock,
		Version:   version.Info{Major: "1", Minor: "37", GitVersion: "v1.37.2+kjet.test"},
	}
	for _, m := range mutate {
		m(&opts)
	}
	t.Cleanup(func() { _ = opts.Storage.Close() })
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Bootstrap(context.Background()); err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	e := &testEnv{t: t, server: s, clock: fakeClock}
	handler := s.Handler()
	e.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.requests = append(e.requests, r.Method+" "+r.URL.String())
		e.mu.Unlock()
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(e.http.Close)
	return e
}

// requestLog returns the requests served so far ("METHOD path?query").
func (e *testEnv) requestLog() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.requests...)
}

// response is a recorded HTTP response.
type response struct {
	code   int
	header http.Header
	body   []byte
}

func (r response) decode(t testing.TB, into interface{}) {
	t.Helper()
	if err := json.Unmarshal(r.body, into); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

func (r response) status(t testing.TB) metav1.Status {
	var st metav1.Status
	r.decode(t, &st)
	return st
}

// do sends one request; headers are "Name: value" strings.
func (e *testEnv) do(method, path, contentType string, body string, headers ...string) response {
	e.t.Helper()
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.http.URL+path, reader)
	if err != nil {
		e.t.Fatalf("new request: %v", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ": ")
		req.Header.Set(name, value)
	}
	resp, err := e.http.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("reading %s %s: %v", method, path, err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: data}
}

func (e *testEnv) mustDo(wantCode int, method, path, contentType, body string, headers ...string) response {
	e.t.Helper()
	resp := e.do(method, path, contentType, body, headers...)
	if resp.code != wantCode {
		e.t.Fatalf("%s %s: got %d, want %d: %s", method, path, resp.code, wantCode, resp.body)
	}
	return resp
}
