package apiserver

import (
	"net/http"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// fakeConnector records what the server hands to the pod connector.
type fakeConnector struct{}

var _ PodConnector = fakeConnector{}

func (fakeConnector) ServePodSubresource(w http.ResponseWriter, r *http.Request, pod *corev1.Pod, subresource string) {
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte(subresource + " of " + pod.Name + " container=" + r.URL.Query().Get("container")))
}

const podPath = "/api/v1/namespaces/default/pods"

func createPod(e *testEnv, name string) {
	e.mustDo(201, "POST", podPath, "application/json", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"`+name+`"},"spec":{"containers":[{"name":"c","image":"i"}]}}`)
}

func TestBinding(t *testing.T) {
	e := newTestEnv(t)
	createPod(e, "p")
	binding := `{"apiVersion":"v1","kind":"Binding","metadata":{"name":"p"},"target":{"kind":"Node","name":"n1"}}`
	e.mustDo(201, "POST", podPath+"/p/binding", "application/json", binding)
	var pod corev1.Pod
	e.mustDo(200, "GET", podPath+"/p", "", "").decode(t, &pod)
	if pod.Spec.NodeName != "n1" || len(pod.Status.Conditions) != 1 || pod.Status.Conditions[0].Type != corev1.PodScheduled {
		t.Errorf("bound pod: node %q conditions %+v", pod.Spec.NodeName, pod.Status.Conditions)
	}
	e.mustDo(409, "POST", podPath+"/p/binding", "application/json", binding)
	e.mustDo(404, "POST", podPath+"/nope/binding", "application/json", `{"apiVersion":"v1","kind":"Binding","metadata":{"name":"nope"},"target":{"kind":"Node","name":"n1"}}`)
}

func TestEviction(t *testing.T) {
	e := newTestEnv(t)
	createPod(e, "p")
	w := e.watch(podPath + "?watch=true&resourceVersion=0")
	w.expect("ADDED", "p")
	eviction := `{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"p","namespace":"default"}}`
	st := e.mustDo(201, "POST", podPath+"/p/eviction", "application/json", eviction).status(t)
	if st.Status != "Success" {
		t.Errorf("eviction status %+v", st)
	}
	ev := w.expect("MODIFIED", "p")
	var pod corev1.Pod
	ev.decodeInto(t, &pod)
	if len(pod.Status.Conditions) != 1 || pod.Status.Conditions[0].Type != corev1.DisruptionTarget {
		t.Errorf("conditions before delete: %+v", pod.Status.Conditions)
	}
	w.expect("DELETED", "p")
}

func TestPodStreamingSubresources(t *testing.T) {
	e := newTestEnv(t)
	createPod(e, "p")
	st := e.mustDo(503, "GET", podPath+"/p/log", "", "").status(t)
	if st.Reason != "ServiceUnavailable" {
		t.Errorf("without connector: %+v", st)
	}
	e = newTestEnv(t, func(o *Options) { o.Pods = fakeConnector{} })
	createPod(e, "p")
	resp := e.mustDo(200, "GET", podPath+"/p/log?container=c", "", "")
	if string(resp.body) != "log of p container=c" {
		t.Errorf("log body %q", resp.body)
	}
	e.mustDo(200, "POST", podPath+"/p/exec?command=ls", "", "")
	e.mustDo(404, "GET", podPath+"/missing/log", "", "")
	e.mustDo(404, "GET", cmPath+"/x/log", "", "")
}
