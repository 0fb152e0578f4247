package apiserver

import (
	"net/http"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	cmPath  = "/api/v1/namespaces/default/configmaps"
	jobPath = "/apis/batch/v1/namespaces/default/jobs"
	cmBody  = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm1","labels":{"app":"a"}},"data":{"k":"v"}}`
	jobBody = `{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"pi"},"spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"busybox"}]}}}}`
)

func TestCreateFillsSystemFields(t *testing.T) {
	e := newTestEnv(t)
	resp := e.mustDo(http.StatusCreated, "POST", jobPath, "application/json", jobBody)
	var job batchv1.Job
	resp.decode(t, &job)
	if job.Kind != "Job" || job.APIVersion != "batch/v1" {
		t.Errorf("typeMeta = %q %q", job.APIVersion, job.Kind)
	}
	if job.UID == "" || job.ResourceVersion == "" || job.Generation != 1 || job.Namespace != "default" {
		t.Errorf("system fields not set: %+v", job.ObjectMeta)
	}
	if !job.CreationTimestamp.Time.Equal(testNow) {
		t.Errorf("creationTimestamp = %v, want %v", job.CreationTimestamp, testNow)
	}
	if len(job.ManagedFields) == 0 || job.ManagedFields[0].Manager != "Go-http-client" {
		t.Errorf("managedFields = %+v", job.ManagedFields)
	}
	get := e.mustDo(http.StatusOK, "GET", jobPath+"/pi", "", "")
	var got batchv1.Job
	get.decode(t, &got)
	if got.ResourceVersion != job.ResourceVersion || got.UID != job.UID {
		t.Errorf("get = %+v, want rv %s uid %s", got.ObjectMeta, job.ResourceVersion, job.UID)
	}
}

func TestCreateErrors(t *testing.T) {
	tests := []struct {
		name        string
		path        string
		contentType string
		body        string
		query       string
		wantCode    int
		wantReason  metav1.StatusReason
		wantMessage string
	}{
		{
			name: "missing namespace", path: "/api/v1/namespaces/nope/configmaps", body: cmBody,
			wantCode: 404, wantReason: metav1.StatusReasonNotFound, wantMessage: `namespaces "nope" not found`,
		},
		{
			name: "strict unknown field", path: jobPath, query: "?fieldValidation=Strict",
			body:     `{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"x"},"spec":{"backofLimit":3}}`,
			wantCode: 400, wantReason: metav1.StatusReasonBadRequest,
			wantMessage: `Job in version "v1" cannot be handled as a Job: strict decoding error: unknown field "spec.backofLimit"`,
		},
		{
			name: "invalid", path: cmPath, body: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"bad"},"data":{"invalid":"x"}}`,
			wantCode: 422, wantReason: metav1.StatusReasonInvalid, wantMessage: `ConfigMap "bad" is invalid: data[invalid]: Invalid value: "x": must not be set`,
		},
		{
			name: "no name", path: cmPath, body: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{}}`,
			wantCode: 422, wantReason: metav1.StatusReasonInvalid, wantMessage: "name or generateName is required",
		},
		{
			name: "namespace mismatch", path: cmPath, body: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"other"}}`,
			wantCode: 400, wantReason: metav1.StatusReasonBadRequest, wantMessage: "does not match the namespace",
		},
		{
			name: "wrong kind", path: cmPath, body: jobBody,
			wantCode: 400, wantReason: metav1.StatusReasonBadRequest, wantMessage: "does not match the expected API version",
		},
		{
			name: "garbage", path: cmPath, body: `{"apiVersion":`,
			wantCode: 400, wantReason: metav1.StatusReasonBadRequest,
		},
		{
			name: "unsupported media type", path: cmPath, contentType: "text/plain", body: cmBody,
			wantCode: 415, wantReason: metav1.StatusReasonUnsupportedMediaType,
		},
		{
			name: "unknown resource", path: "/api/v1/namespaces/default/widgets", body: cmBody,
			wantCode: 404, wantReason: metav1.StatusReasonNotFound, wantMessage: "the server could not find the requested resource",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			ct := tt.contentType
			if ct == "" {
				ct = "application/json"
			}
			resp := e.do("POST", tt.path+tt.query, ct, tt.body)
			if resp.code != tt.wantCode {
				t.Fatalf("code = %d, want %d: %s", resp.code, tt.wantCode, resp.body)
			}
			st := resp.status(t)
			if st.Kind != "Status" || st.Reason != tt.wantReason || !strings.Contains(st.Message, tt.wantMessage) {
				t.Errorf("status = %+v, want reason %s message containing %q", st, tt.wantReason, tt.wantMessage)
			}
		})
	}
}

func TestCreateDuplicateAndGenerateName(t *testing.T) {
	e := newTestEnv(t)
	e.mustDo(http.StatusCreated, "POST", cmPath, "application/json", cmBody)
	st := e.mustDo(http.StatusConflict, "POST", cmPath, "application/json", cmBody).status(t)
	if st.Reason != metav1.StatusReasonAlreadyExists || st.Message != `configmaps "cm1" already exists` {
		t.Errorf("duplicate: %+v", st)
	}
	var cm corev1.ConfigMap
	e.mustDo(http.StatusCreated, "POST", cmPath, "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"gen-"}}`).decode(t, &cm)
	if !strings.HasPrefix(cm.Name, "gen-") || len(cm.Name) != len("gen-")+5 {
		t.Errorf("generated name %q", cm.Name)
	}
}

func TestWarnAndIgnoreFieldValidation(t *testing.T) {
	e := newTestEnv(t)
	body := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"w"},"bogus":1}`
	resp := e.mustDo(http.StatusCreated, "POST", cmPath, "application/json", body)
	if w := resp.header.Get("Warning"); w != `299 - "unknown field \"bogus\""` {
		t.Errorf("Warning = %q", w)
	}
	resp = e.mustDo(http.StatusCreated, "POST", cmPath+"?fieldValidation=Ignore", "application/json", strings.Replace(body, `"w"`, `"i"`, 1))
	if w := resp.header.Get("Warning"); w != "" {
		t.Errorf("Warning with Ignore = %q", w)
	}
}

func TestDryRun(t *testing.T) {
	e := newTestEnv(t)
	e.mustDo(http.StatusCreated, "POST", cmPath+"?dryRun=All", "application/json", cmBody)
	e.mustDo(http.StatusNotFound, "GET", cmPath+"/cm1", "", "")
	e.mustDo(http.StatusCreated, "POST", cmPath, "application/json", cmBody)
	rev := e.server.store.Revision()
	var cm corev1.ConfigMap
	e.mustDo(http.StatusOK, "PATCH", cmPath+"/cm1?dryRun=All", "application/merge-patch+json", `{"data":{"k":"dry"}}`).decode(t, &cm)
	if cm.Data["k"] != "dry" {
		t.Errorf("dry-run patch result %v", cm.Data)
	}
	e.mustDo(http.StatusOK, "DELETE", cmPath+"/cm1?dryRun=All", "", "")
	if got := e.server.store.Revision(); got != rev {
		t.Errorf("dry runs wrote: revision %d -> %d", rev, got)
	}
	e.mustDo(http.StatusOK, "GET", cmPath+"/cm1", "", "")
}

func TestUpdate(t *testing.T) {
	e := newTestEnv(t)
	var job batchv1.Job
	e.mustDo(http.StatusCreated, "POST", jobPath, "application/json", jobBody).decode(t, &job)

	// A stale resourceVersion conflicts with Kubernetes' message.
	stale := strings.Replace(jobBody, `"name":"pi"`, `"name":"pi","resourceVersion":"1"`, 1)
	st := e.mustDo(http.StatusConflict, "PUT", jobPath+"/pi", "application/json", stale).status(t)
	want := `Operation cannot be fulfilled on jobs.batch "pi": the object has been modified; please apply your changes to the latest version and try again`
	if st.Message != want || st.Reason != metav1.StatusReasonConflict {
		t.Errorf("conflict status = %+v", st)
	}

	// An unconditional spec change bumps generation and keeps system fields.
	changed := strings.Replace(jobBody, `"spec":{`, `"spec":{"backoffLimit":2,`, 1)
	var updated batchv1.Job
	e.mustDo(http.StatusOK, "PUT", jobPath+"/pi", "application/json", changed).decode(t, &updated)
	if updated.Generation != 2 || updated.UID != job.UID || !updated.CreationTimestamp.Equal(&job.CreationTimestamp) {
		t.Errorf("update meta = %+v", updated.ObjectMeta)
	}
	if updated.ResourceVersion == job.ResourceVersion {
		t.Errorf("resourceVersion unchanged")
	}

	// A no-op update writes nothing.
	rev := e.server.store.Revision()
	var same batchv1.Job
	e.mustDo(http.StatusOK, "PUT", jobPath+"/pi", "application/json", changed).decode(t, &same)
	if same.ResourceVersion != updated.ResourceVersion || e.server.store.Revision() != rev {
		t.Errorf("no-op update wrote: rv %s -> %s", updated.ResourceVersion, same.ResourceVersion)
	}

	// Status writes change only status; main-resource writes ignore status.
	withStatus := strings.Replace(changed, `"spec":{`, `"status":{"active":3},"spec":{"parallelism":9,`, 1)
	var statusWritten batchv1.Job
	e.mustDo(http.StatusOK, "PUT", jobPath+"/pi/status", "application/json", withStatus).decode(t, &statusWritten)
	if statusWritten.Status.Active != 3 || statusWritten.Spec.Parallelism != nil || statusWritten.Generation != 2 {
		t.Errorf("status write: status %+v parallelism %v generation %d", statusWritten.Status, statusWritten.Spec.Parallelism, statusWritten.Generation)
	}

	e.mustDo(http.StatusNotFound, "PUT", jobPath+"/missing", "application/json", strings.Replace(jobBody, `"pi"`, `"missing"`, 1))
	e.mustDo(http.StatusBadRequest, "PUT", jobPath+"/other", "application/json", jobBody)
}

func TestGetNotFoundMessage(t *testing.T) {
	e := newTestEnv(t)
	st := e.mustDo(http.StatusNotFound, "GET", jobPath+"/x", "", "").status(t)
	if st.Message != `jobs.batch "x" not found` || st.Details == nil || st.Details.Kind != "jobs" || st.Details.Group != "batch" {
		t.Errorf("status = %+v", st)
	}
}

func TestPrettyAndYAML(t *testing.T) {
	e := newTestEnv(t)
	e.mustDo(http.StatusCreated, "POST", cmPath, "application/yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yy\ndata:\n  a: b\n")
	pretty := e.mustDo(http.StatusOK, "GET", cmPath+"/yy?pretty=true", "", "")
	if !strings.Contains(string(pretty.body), "\n    \"name\": \"yy\"") {
		t.Errorf("not pretty: %s", pretty.body)
	}
	yamlResp := e.mustDo(http.StatusOK, "GET", cmPath+"/yy", "", "", "Accept: application/yaml")
	if !strings.Contains(string(yamlResp.body), "name: yy") || yamlResp.header.Get("Content-Type") != "application/yaml" {
		t.Errorf("yaml response %q: %s", yamlResp.header.Get("Content-Type"), yamlResp.body)
	}
}
