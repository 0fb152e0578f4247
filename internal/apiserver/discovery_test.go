package apiserver

import (
	"net/http"
	"testing"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
)

func TestDiscovery(t *testing.T) {
	e := newTestEnv(t)
	var v version.Info
	e.mustDo(200, "GET", "/version?timeout=5s", "", "").decode(t, &v)
	if v.Minor != "37" {
		t.Errorf("version = %+v", v)
	}
	var versions metav1.APIVersions
	e.mustDo(200, "GET", "/api", "", "").decode(t, &versions)
	if len(versions.Versions) != 1 || versions.Versions[0] != "v1" || len(versions.ServerAddressByClientCIDRs) != 1 {
		t.Errorf("/api = %+v", versions)
	}
	var groups metav1.APIGroupList
	e.mustDo(200, "GET", "/apis", "", "").decode(t, &groups)
	if len(groups.Groups) != 1 || groups.Groups[0].Name != "batch" || groups.Groups[0].PreferredVersion.GroupVersion != "batch/v1" {
		t.Errorf("/apis = %+v", groups)
	}
	var core metav1.APIResourceList
	e.mustDo(200, "GET", "/api/v1", "", "").decode(t, &core)
	byName := map[string]metav1.APIResource{}
	for _, r := range core.APIResources {
		byName[r.Name] = r
	}
	if pods := byName["pods"]; pods.Kind != "Pod" || !pods.Namespaced || len(pods.ShortNames) != 1 || pods.Categories[0] != "all" || len(pods.Verbs) != 8 {
		t.Errorf("pods = %+v", pods)
	}
	if ev := byName["pods/eviction"]; ev.Group != "policy" || ev.Version != "v1" || ev.Kind != "Eviction" {
		t.Errorf("pods/eviction = %+v", ev)
	}
	for _, name := range []string{"pods/log", "pods/exec", "pods/attach", "pods/portforward", "pods/binding", "pods/status", "namespaces"} {
		if _, ok := byName[name]; !ok {
			t.Errorf("no %s in /api/v1", name)
		}
	}
	var batch metav1.APIResourceList
	e.mustDo(200, "GET", "/apis/batch/v1", "", "").decode(t, &batch)
	if batch.GroupVersion != "batch/v1" || len(batch.APIResources) != 2 {
		t.Errorf("/apis/batch/v1 = %+v", batch)
	}
	e.mustDo(200, "GET", "/apis/batch", "", "")
	e.mustDo(404, "GET", "/apis/apps/v1", "", "")
	e.mustDo(404, "GET", "/openapi/v3", "", "")

	aggregatedAccept := "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
	resp := e.mustDo(200, "GET", "/apis", "", "", "Accept: "+aggregatedAccept)
	if ct := resp.header.Get("Content-Type"); ct != aggregatedMedia {
		t.Errorf("aggregated content type %q", ct)
	}
	var agg apidiscoveryv2.APIGroupDiscoveryList
	resp.decode(t, &agg)
	if len(agg.Items) != 1 || agg.Items[0].Name != "batch" || agg.Items[0].Versions[0].Resources[0].Resource != "jobs" {
		t.Errorf("aggregated /apis = %+v", agg)
	}
	agg = apidiscoveryv2.APIGroupDiscoveryList{}
	e.mustDo(200, "GET", "/api", "", "", "Accept: "+aggregatedAccept).decode(t, &agg)
	if len(agg.Items) != 1 || agg.Items[0].Name != "" || len(agg.Items[0].Versions[0].Resources) != 4 {
		t.Errorf("aggregated /api = %+v", agg)
	}
}

func TestOpenAPIMounted(t *testing.T) {
	e := newTestEnv(t, func(o *Options) {
		o.OpenAPI = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"paths":{}}`))
		})
	})
	e.mustDo(200, "GET", "/openapi/v3", "", "")
	e.mustDo(200, "GET", "/openapi/v3/apis/batch/v1?hash=x", "", "")
	e.mustDo(200, "GET", "/openapi/v2", "", "")
}
