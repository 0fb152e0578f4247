package openapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kjet-dev/kjet/internal/registry"
)

type statusOnly struct{ registry.StatusStrategy }

func testResources() []registry.Resource {
	return []registry.Resource{
		{
			GroupVersionResource: schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"},
			Kind:                 "Job", Namespaced: true,
			New:     func() runtime.Object { return &batchv1.Job{} },
			NewList: func() runtime.Object { return &batchv1.JobList{} },
			Status:  statusOnly{},
		},
		{
			GroupVersionResource: schema.GroupVersionResource{Version: "v1", Resource: "namespaces"},
			Kind:                 "Namespace",
			New:                  func() runtime.Object { return &corev1.Namespace{} },
			NewList:              func() runtime.Object { return &corev1.NamespaceList{} },
		},
		{
			GroupVersionResource: schema.GroupVersionResource{Version: "v1", Resource: "pods"},
			Kind:                 "Pod", Namespaced: true,
			New:     func() runtime.Object { return &corev1.Pod{} },
			NewList: func() runtime.Object { return &corev1.PodList{} },
		},
		{
			GroupVersionResource: schema.GroupVersionResource{Group: "coordination.k8s.io", Version: "v1", Resource: "leases"},
			Kind:                 "Lease", Namespaced: true,
			New:     func() runtime.Object { return &coordinationv1.Lease{} },
			NewList: func() runtime.Object { return &coordinationv1.LeaseList{} },
		},
	}
}

// doc is the parts of an OpenAPI v3 document the tests look at.
type doc struct {
	Paths map[string]map[string]json.RawMessage `json:"paths"`
	// Components.Schemas kept raw.
	Components struct {
		Schemas map[string]map[string]any `json:"schemas"`
	} `json:"components"`
}

type operation struct {
	GVK        map[string]string `json:"x-kubernetes-group-version-kind"`
	Parameters []struct {
		Name string `json:"name"`
	} `json:"parameters"`
	RequestBody struct {
		Content map[string]any `json:"content"`
	} `json:"requestBody"`
}

func get(t *testing.T, h http.Handler, url string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", "application/json, */*")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func fetchDocs(t *testing.T) map[string]doc {
	t.Helper()
	h, err := NewHandler(testResources())
	if err != nil {
		t.Fatal(err)
	}
	rec := get(t, h, "/openapi/v3")
	if rec.Code != 200 {
		t.Fatalf("/openapi/v3: %d %s", rec.Code, rec.Body)
	}
	var disc struct {
		Paths map[string]struct {
			ServerRelativeURL string `json:"serverRelativeURL"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &disc); err != nil {
		t.Fatal(err)
	}
	docs := map[string]doc{}
	for _, gv := range []string{"api/v1", "apis/batch/v1", "apis/coordination.k8s.io/v1"} {
		u := disc.Paths[gv].ServerRelativeURL
		if !strings.HasPrefix(u, "/openapi/v3/"+gv+"?hash=") {
			t.Fatalf("discovery URL for %s = %q", gv, u)
		}
		rec := get(t, h, u)
		if rec.Code != 200 {
			t.Fatalf("%s: %d %s", u, rec.Code, rec.Body)
		}
		var d doc
		if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		docs[gv] = d
	}
	if len(disc.Paths) != 3 {
		t.Fatalf("discovery lists %d group versions, want 3", len(disc.Paths))
	}
	return docs
}

func TestDocumentsHavePatchOperationsKubectlNeeds(t *testing.T) {
	docs := fetchDocs(t)
	cases := []struct {
		name, gv, path string
		gvk            map[string]string
	}{
		{"upstream job", "apis/batch/v1", "/apis/batch/v1/namespaces/{namespace}/jobs/{name}", map[string]string{"group": "batch", "version": "v1", "kind": "Job"}},
		{"upstream job status", "apis/batch/v1", "/apis/batch/v1/namespaces/{namespace}/jobs/{name}/status", map[string]string{"group": "batch", "version": "v1", "kind": "Job"}},
		{"upstream namespace", "api/v1", "/api/v1/namespaces/{name}", map[string]string{"group": "", "version": "v1", "kind": "Namespace"}},
		{"generated lease", "apis/coordination.k8s.io/v1", "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}", map[string]string{"group": "coordination.k8s.io", "version": "v1", "kind": "Lease"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := docs[tc.gv].Paths[tc.path]
			if !ok {
				t.Fatalf("no path %s", tc.path)
			}
			var op operation
			if err := json.Unmarshal(p["patch"], &op); err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.gvk {
				if op.GVK[k] != v {
					t.Fatalf("patch gvk = %v, want %v", op.GVK, tc.gvk)
				}
			}
			hasFV := false
			for _, prm := range op.Parameters {
				hasFV = hasFV || prm.Name == "fieldValidation"
			}
			if !hasFV {
				t.Error("patch has no fieldValidation parameter")
			}
			for _, mt := range patchMediaTypes {
				if _, ok := op.RequestBody.Content[mt]; !ok {
					t.Errorf("patch request body lacks %s", mt)
				}
			}
		})
	}
}

func TestDocumentsArePrunedToServedResources(t *testing.T) {
	docs := fetchDocs(t)
	for p := range docs["apis/batch/v1"].Paths {
		if strings.Contains(p, "cronjobs") {
			t.Errorf("batch/v1 document still has %s (cronjobs not served)", p)
		}
	}
	for p := range docs["api/v1"].Paths {
		if strings.Contains(p, "/services") {
			t.Errorf("api/v1 document still has %s", p)
		}
	}
	if _, ok := docs["api/v1"].Paths["/api/v1/namespaces/{namespace}/pods/{name}/exec"]; !ok {
		t.Error("pods/exec path pruned")
	}
}

func TestSchemas(t *testing.T) {
	docs := fetchDocs(t)
	cases := []struct {
		name, gv, schema, prop string
	}{
		{"upstream job spec", "apis/batch/v1", "io.k8s.api.batch.v1.JobSpec", "backoffLimit"},
		{"generated lease spec", "apis/coordination.k8s.io/v1", "io.k8s.api.coordination.v1.LeaseSpec", "holderIdentity"},
		{"generated lease metadata", "apis/coordination.k8s.io/v1", "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "ownerReferences"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, ok := docs[tc.gv].Components.Schemas[tc.schema]
			if !ok {
				t.Fatalf("no schema %s", tc.schema)
			}
			props, _ := s["properties"].(map[string]any)
			if _, ok := props[tc.prop]; !ok {
				t.Fatalf("schema %s lacks %s", tc.schema, tc.prop)
			}
		})
	}
	lease := docs["apis/coordination.k8s.io/v1"].Components.Schemas["io.k8s.api.coordination.v1.Lease"]
	gvks, _ := lease["x-kubernetes-group-version-kind"].([]any)
	if len(gvks) != 1 {
		t.Fatalf("lease gvk extension = %v", lease["x-kubernetes-group-version-kind"])
	}
	refs, _ := docs["apis/coordination.k8s.io/v1"].Components.Schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]["properties"].(map[string]any)["ownerReferences"].(map[string]any)
	if refs["x-kubernetes-patch-merge-key"] != "uid" || refs["x-kubernetes-patch-strategy"] != "merge" {
		t.Fatalf("ownerReferences patch extensions = %v", refs)
	}
	ts := docs["apis/coordination.k8s.io/v1"].Components.Schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]["properties"].(map[string]any)["creationTimestamp"].(map[string]any)
	if ts["type"] != "string" || ts["format"] != "date-time" {
		t.Fatalf("creationTimestamp schema = %v", ts)
	}
}

func TestNotFound(t *testing.T) {
	h, err := NewHandler(testResources())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"/openapi/v1", "/openapi/v3/apis/apps/v1", "/openapi/v3/apis/nope"} {
		t.Run(u, func(t *testing.T) {
			rec := get(t, h, u)
			if rec.Code != 404 || !strings.Contains(rec.Body.String(), `"reason":"NotFound"`) {
				t.Fatalf("%s: %d %.300s", u, rec.Code, rec.Body)
			}
		})
	}
}

func TestNewHandlerRejectsBadResources(t *testing.T) {
	rs := testResources()
	cases := []struct {
		name string
		rs   []registry.Resource
	}{
		{"duplicate", append(rs, rs[0])},
		{"no kind", []registry.Resource{{GroupVersionResource: rs[0].GroupVersionResource, New: rs[0].New, NewList: rs[0].NewList}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewHandler(tc.rs); err == nil {
				t.Fatal("NewHandler accepted bad resources")
			}
		})
	}
}

func TestPathResource(t *testing.T) {
	cases := []struct{ path, prefix, want string }{
		{"/api/v1/namespaces/{namespace}/pods/{name}/exec", "/api/v1", "pods"},
		{"/api/v1/watch/namespaces/{namespace}/pods", "/api/v1", "pods"},
		{"/api/v1/namespaces/{name}", "/api/v1", "namespaces"},
		{"/api/v1/namespaces/{name}/finalize", "/api/v1", "namespaces"},
		{"/api/v1/nodes/{name}/status", "/api/v1", "nodes"},
		{"/apis/batch/v1/jobs", "/apis/batch/v1", "jobs"},
		{"/apis/batch/v1/", "/apis/batch/v1", ""},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			if got := pathResource(tc.path, tc.prefix); got != tc.want {
				t.Fatalf("pathResource = %q, want %q", got, tc.want)
			}
		})
	}
}
