package apiserver

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDelete(t *testing.T) {
	tests := []struct {
		name          string
		path          string
		body          string
		query         string
		wantCode      int
		wantGone      bool
		wantFinalizer string
		wantWarning   bool
		wantStatus    bool // response is a Status (not the object)
	}{
		{name: "background removes at once", path: cmPath + "/cm1", body: `{"propagationPolicy":"Background"}`, wantCode: 200, wantGone: true, wantStatus: true},
		{name: "no body", path: cmPath + "/cm1", wantCode: 200, wantGone: true, wantStatus: true},
		{name: "orphan keeps it with a finalizer", path: cmPath + "/cm1", body: `{"propagationPolicy":"Orphan"}`, wantCode: 200, wantFinalizer: "orphan"},
		{name: "orphan as query", path: cmPath + "/cm1", query: "?propagationPolicy=Orphan", wantCode: 200, wantFinalizer: "orphan"},
		{name: "foreground", path: cmPath + "/cm1", body: `{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Foreground"}`, wantCode: 200, wantFinalizer: "foregroundDeletion"},
		{name: "job default orphan with warning", path: jobPath + "/pi", wantCode: 200, wantFinalizer: "orphan", wantWarning: true},
		{name: "uid precondition", path: cmPath + "/cm1", body: `{"preconditions":{"uid":"nope"}}`, wantCode: 409},
		{name: "missing", path: cmPath + "/missing", wantCode: 404},
		{name: "bad policy", path: cmPath + "/cm1", body: `{"propagationPolicy":"Sideways"}`, wantCode: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			e.mustDo(201, "POST", cmPath, "application/json", cmBody)
			e.mustDo(201, "POST", jobPath, "application/json", jobBody)
			ct := ""
			if tt.body != "" {
				ct = "application/json"
			}
			resp := e.mustDo(tt.wantCode, "DELETE", tt.path+tt.query, ct, tt.body)
			if tt.wantCode != 200 {
				return
			}
			if got := resp.header.Get("Warning") != ""; got != tt.wantWarning {
				t.Errorf("warning header %q", resp.header.Get("Warning"))
			}
			var obj struct {
				Kind     string            `json:"kind"`
				Status   interface{}       `json:"status"`
				Metadata metav1.ObjectMeta `json:"metadata"`
				Details  *metav1.StatusDetails
			}
			resp.decode(t, &obj)
			if (obj.Kind == "Status") != tt.wantStatus {
				t.Errorf("response kind %s: %s", obj.Kind, resp.body)
			}
			if tt.wantStatus && (obj.Details == nil || obj.Details.UID == "" || obj.Details.Kind != "configmaps") {
				t.Errorf("status details = %+v", obj.Details)
			}
			get := e.do("GET", tt.path, "", "")
			if tt.wantGone {
				if get.code != 404 {
					t.Errorf("still there: %d", get.code)
				}
				return
			}
			var m struct {
				Metadata metav1.ObjectMeta `json:"metadata"`
			}
			get.decode(t, &m)
			if m.Metadata.DeletionTimestamp == nil || len(m.Metadata.Finalizers) != 1 || m.Metadata.Finalizers[0] != tt.wantFinalizer {
				t.Errorf("metadata after delete = %+v", m.Metadata)
			}
		})
	}
}

func TestRemovingLastFinalizerDeletes(t *testing.T) {
	e := newTestEnv(t)
	e.mustDo(201, "POST", cmPath, "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"f","finalizers":["example.com/x"]}}`)
	w := e.watch(cmPath + "?watch=true&resourceVersion=0")
	w.expect("ADDED", "f")
	e.mustDo(200, "DELETE", cmPath+"/f", "", "")
	ev := w.expect("MODIFIED", "f")
	if ev.meta(t).DeletionTimestamp == nil {
		t.Fatalf("no deletionTimestamp: %s", ev.Object)
	}
	e.mustDo(200, "PATCH", cmPath+"/f", "application/merge-patch+json", `{"metadata":{"finalizers":null}}`)
	w.expect("DELETED", "f")
	e.mustDo(404, "GET", cmPath+"/f", "", "")
}

func TestGracefulPodDelete(t *testing.T) {
	e := newTestEnv(t)
	podPath := "/api/v1/namespaces/default/pods"
	e.mustDo(201, "POST", podPath, "application/json", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"nodeName":"n1","containers":[{"name":"c","image":"i"}]}}`)
	var pod corev1.Pod
	e.mustDo(200, "DELETE", podPath+"/p", "application/json", `{"propagationPolicy":"Background"}`).decode(t, &pod)
	if pod.DeletionTimestamp == nil || pod.DeletionGracePeriodSeconds == nil || *pod.DeletionGracePeriodSeconds != 30 {
		t.Fatalf("graceful delete: %+v", pod.ObjectMeta)
	}
	if want := testNow.Add(30 * time.Second); !pod.DeletionTimestamp.Time.Equal(want) {
		t.Errorf("deletionTimestamp %v, want %v", pod.DeletionTimestamp, want)
	}
	e.mustDo(200, "GET", podPath+"/p", "", "")
	// The node agent deletes it with grace 0; the response is the deleted pod.
	e.mustDo(200, "DELETE", podPath+"/p", "application/json", `{"gracePeriodSeconds":0}`).decode(t, &pod)
	if pod.Kind != "Pod" {
		t.Errorf("final delete answered %q", pod.Kind)
	}
	e.mustDo(404, "GET", podPath+"/p", "", "")
	// Unscheduled pods go at once.
	e.mustDo(201, "POST", podPath, "application/json", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"q"},"spec":{"containers":[{"name":"c","image":"i"}]}}`)
	e.mustDo(200, "DELETE", podPath+"/q", "", "")
	e.mustDo(404, "GET", podPath+"/q", "", "")
}

func TestDeleteCollection(t *testing.T) {
	e := newTestEnv(t)
	e.mustDo(201, "POST", cmPath, "application/json", cmJSON("a", `"x":"1"`))
	e.mustDo(201, "POST", cmPath, "application/json", cmJSON("b", `"x":"2"`))
	e.mustDo(200, "DELETE", cmPath+"?labelSelector=x%3D1", "", "")
	e.mustDo(404, "GET", cmPath+"/a", "", "")
	e.mustDo(200, "GET", cmPath+"/b", "", "")
}

func TestNamespaceLifecycle(t *testing.T) {
	e := newTestEnv(t)
	e.mustDo(201, "POST", "/api/v1/namespaces", "application/json", `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"work"}}`)
	e.mustDo(200, "GET", "/api/v1/namespaces/work/serviceaccounts/default", "", "")
	e.mustDo(201, "POST", "/api/v1/namespaces/work/configmaps", "application/json", cmJSON("a", ""))
	e.mustDo(201, "POST", "/api/v1/namespaces/work/configmaps", "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"held","finalizers":["example.com/x"]}}`)

	var ns corev1.Namespace
	e.mustDo(200, "DELETE", "/api/v1/namespaces/work", "", "").decode(t, &ns)
	if ns.Status.Phase != corev1.NamespaceTerminating || ns.DeletionTimestamp == nil {
		t.Fatalf("namespace after delete: %+v", ns)
	}
	st := e.mustDo(403, "POST", "/api/v1/namespaces/work/configmaps", "application/json", cmJSON("late", "")).status(t)
	if st.Message != `configmaps "late" is forbidden: unable to create new content in namespace work because it is being terminated` {
		t.Errorf("create in terminating namespace: %q", st.Message)
	}
	if st.Details == nil || len(st.Details.Causes) != 1 || st.Details.Causes[0].Type != corev1.NamespaceTerminatingCause {
		t.Errorf("terminating namespace cause missing: %+v", st.Details)
	}

	// Updates of a terminating namespace do not remove it.
	e.mustDo(200, "PATCH", "/api/v1/namespaces/work", "application/merge-patch+json", `{"metadata":{"labels":{"x":"y"}}}`)
	e.mustDo(200, "GET", "/api/v1/namespaces/work", "", "")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.server.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	waitFor(t, func() bool { return e.do("GET", "/api/v1/namespaces/work/configmaps/a", "", "").code == 404 })
	// The finalizer holds the namespace until someone removes it.
	e.mustDo(200, "GET", "/api/v1/namespaces/work", "", "")
	e.mustDo(200, "PATCH", "/api/v1/namespaces/work/configmaps/held", "application/merge-patch+json", `{"metadata":{"finalizers":null}}`)
	waitFor(t, func() bool {
		e.clock.Step(e.server.opts.NamespaceResyncInterval)
		return e.do("GET", "/api/v1/namespaces/work", "", "").code == 404
	})
	e.mustDo(403, "DELETE", "/api/v1/namespaces/default", "", "")
}

// waitFor polls cond until it holds or 10s pass.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
