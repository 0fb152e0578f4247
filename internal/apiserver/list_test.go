package apiserver

import (
	"net/url"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestListSelectors(t *testing.T) {
	e := newTestEnv(t)
	e.mustDo(201, "POST", "/api/v1/namespaces", "application/json", `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"other"}}`)
	e.mustDo(201, "POST", cmPath, "application/json", cmJSON("a", `"app":"web","tier":"1"`))
	e.mustDo(201, "POST", cmPath, "application/json", cmJSON("b", `"app":"db"`))
	e.mustDo(201, "POST", "/api/v1/namespaces/other/configmaps", "application/json", cmJSON("c", `"app":"web"`))
	tests := []struct {
		name      string
		path      string
		query     url.Values
		wantNames []string
		wantCode  int
	}{
		{name: "all in namespace", path: cmPath, wantNames: []string{"a", "b"}},
		{name: "all namespaces", path: "/api/v1/configmaps", query: url.Values{"labelSelector": {"app"}}, wantNames: []string{"a", "b", "c"}},
		{name: "label equality", path: cmPath, query: url.Values{"labelSelector": {"app=web"}}, wantNames: []string{"a"}},
		{name: "label set-based", path: "/api/v1/configmaps", query: url.Values{"labelSelector": {"app in (web),!tier"}}, wantNames: []string{"c"}},
		{name: "field name", path: cmPath, query: url.Values{"fieldSelector": {"metadata.name=b"}}, wantNames: []string{"b"}},
		{name: "field name inequality", path: cmPath, query: url.Values{"fieldSelector": {"metadata.name!=b"}}, wantNames: []string{"a"}},
		{name: "field namespace", path: "/api/v1/configmaps", query: url.Values{"fieldSelector": {"metadata.namespace=other"}}, wantNames: []string{"c"}},
		{name: "missing namespace lists empty", path: "/api/v1/namespaces/nope/configmaps", wantNames: []string{}},
		{name: "unsupported field", path: cmPath, query: url.Values{"fieldSelector": {"spec.foo=1"}}, wantCode: 400},
		{name: "bad label selector", path: cmPath, query: url.Values{"labelSelector": {"a b c"}}, wantCode: 400},
		{name: "unknown params ignored", path: cmPath, query: url.Values{"timeout": {"32s"}, "whatever": {"1"}}, wantNames: []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path
			if len(tt.query) > 0 {
				path += "?" + tt.query.Encode()
			}
			want := tt.wantCode
			if want == 0 {
				want = 200
			}
			resp := e.mustDo(want, "GET", path, "", "")
			if want != 200 {
				return
			}
			var list corev1.ConfigMapList
			resp.decode(t, &list)
			if list.Kind != "ConfigMapList" || list.ResourceVersion == "" {
				t.Errorf("list meta: kind %q rv %q", list.Kind, list.ResourceVersion)
			}
			var names []string
			for _, item := range list.Items {
				names = append(names, item.Name)
			}
			if len(names) != len(tt.wantNames) {
				t.Fatalf("names = %v, want %v", names, tt.wantNames)
			}
			for i := range names {
				if names[i] != tt.wantNames[i] {
					t.Fatalf("names = %v, want %v", names, tt.wantNames)
				}
			}
		})
	}
}

func TestListPagination(t *testing.T) {
	e := newTestEnv(t)
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		labels := `"keep":"yes"`
		if name == "b" || name == "c" {
			labels = `"keep":"no"`
		}
		e.mustDo(201, "POST", cmPath, "application/json", cmJSON(name, labels))
	}
	var all []string
	path := cmPath + "?limit=2&labelSelector=keep%3Dyes"
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatalf("too many pages")
		}
		var list corev1.ConfigMapList
		e.mustDo(200, "GET", path, "", "").decode(t, &list)
		for _, item := range list.Items {
			all = append(all, item.Name)
		}
		if list.Continue == "" {
			break
		}
		path = cmPath + "?limit=2&labelSelector=keep%3Dyes&continue=" + url.QueryEscape(list.Continue)
	}
	if len(all) != 3 || all[0] != "a" || all[1] != "d" || all[2] != "e" {
		t.Errorf("paged names = %v", all)
	}
	st := e.mustDo(400, "GET", cmPath+"?continue=garbage", "", "").status(t)
	if st.Reason != metav1.StatusReasonBadRequest {
		t.Errorf("bad continue: %+v", st)
	}
}

func TestPartialObjectMetadataList(t *testing.T) {
	e := newTestEnv(t)
	e.mustDo(201, "POST", cmPath, "application/json", cmJSON("a", `"x":"y"`))
	resp := e.mustDo(200, "GET", cmPath, "", "", "Accept: application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json")
	var list metav1.PartialObjectMetadataList
	resp.decode(t, &list)
	if list.Kind != "PartialObjectMetadataList" || len(list.Items) != 1 || list.Items[0].Labels["x"] != "y" {
		t.Errorf("list = %s", resp.body)
	}
}
