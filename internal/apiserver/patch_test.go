package apiserver

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPatchTypes(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		patch       string
		query       string
		wantCode    int
		check       func(t *testing.T, cm *corev1.ConfigMap)
	}{
		{
			name: "merge", contentType: "application/merge-patch+json", patch: `{"data":{"k":null,"n":"1"}}`, wantCode: 200,
			check: func(t *testing.T, cm *corev1.ConfigMap) {
				if _, ok := cm.Data["k"]; ok || cm.Data["n"] != "1" {
					t.Errorf("data = %v", cm.Data)
				}
			},
		},
		{
			name: "json patch", contentType: "application/json-patch+json", patch: `[{"op":"add","path":"/data/j","value":"2"}]`, wantCode: 200,
			check: func(t *testing.T, cm *corev1.ConfigMap) {
				if cm.Data["j"] != "2" || cm.Data["k"] != "v" {
					t.Errorf("data = %v", cm.Data)
				}
			},
		},
		{
			name: "json patch failing test", contentType: "application/json-patch+json", patch: `[{"op":"test","path":"/data/k","value":"nope"}]`, wantCode: 422,
		},
		{
			name: "strategic delete from finalizers", contentType: "application/strategic-merge-patch+json",
			patch: `{"metadata":{"$deleteFromPrimitiveList/finalizers":["example.com/a"]}}`, wantCode: 200,
			check: func(t *testing.T, cm *corev1.ConfigMap) {
				if len(cm.Finalizers) != 1 || cm.Finalizers[0] != "example.com/b" {
					t.Errorf("finalizers = %v", cm.Finalizers)
				}
			},
		},
		{
			name: "strategic labels", contentType: "application/strategic-merge-patch+json",
			patch: `{"metadata":{"labels":{"tier":"batch"}}}`, wantCode: 200,
			check: func(t *testing.T, cm *corev1.ConfigMap) {
				if cm.Labels["tier"] != "batch" || cm.Labels["app"] != "a" {
					t.Errorf("labels = %v", cm.Labels)
				}
			},
		},
		{
			name: "stale resourceVersion in patch", contentType: "application/merge-patch+json",
			patch: `{"metadata":{"resourceVersion":"1"},"data":{"x":"y"}}`, wantCode: 409,
		},
		{
			name: "strict unknown field", contentType: "application/merge-patch+json", query: "?fieldValidation=Strict",
			patch: `{"bogus":1}`, wantCode: 422,
		},
		{
			name: "unsupported patch type", contentType: "application/xml", patch: `<x/>`, wantCode: 415,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			e.mustDo(201, "POST", cmPath, "application/json",
				`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm1","labels":{"app":"a"},"finalizers":["example.com/a","example.com/b"]},"data":{"k":"v"}}`)
			resp := e.mustDo(tt.wantCode, "PATCH", cmPath+"/cm1"+tt.query, tt.contentType, tt.patch)
			if tt.check != nil {
				var cm corev1.ConfigMap
				resp.decode(t, &cm)
				tt.check(t, &cm)
			}
		})
	}
}

func TestPatchStatusSubresource(t *testing.T) {
	e := newTestEnv(t)
	e.mustDo(201, "POST", jobPath, "application/json", jobBody)
	var job batchv1.Job
	e.mustDo(200, "PATCH", jobPath+"/pi/status", "application/merge-patch+json", `{"status":{"succeeded":1},"spec":{"parallelism":5}}`).decode(t, &job)
	if job.Status.Succeeded != 1 || job.Spec.Parallelism != nil {
		t.Errorf("status patch: status %+v parallelism %v", job.Status, job.Spec.Parallelism)
	}
	// A main-resource patch cannot write status.
	e.mustDo(200, "PATCH", jobPath+"/pi", "application/merge-patch+json", `{"status":{"succeeded":7}}`).decode(t, &job)
	if job.Status.Succeeded != 1 {
		t.Errorf("main patch changed status: %+v", job.Status)
	}
}

func TestServerSideApply(t *testing.T) {
	e := newTestEnv(t)
	manifest := `{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"ssa","labels":{"a":"1"}},"spec":{"backoffLimit":2,"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"busybox"}]}}}}`
	path := jobPath + "/ssa?fieldManager=kubectl&force=false&fieldValidation=Strict"
	var job batchv1.Job
	e.mustDo(201, "PATCH", path, "application/apply-patch+yaml", manifest).decode(t, &job)
	if job.UID == "" || job.Generation != 1 || *job.Spec.BackoffLimit != 2 {
		t.Fatalf("created = %+v", job)
	}
	if !hasManager(job.ManagedFields, "kubectl", metav1.ManagedFieldsOperationApply) {
		t.Errorf("managedFields = %+v", job.ManagedFields)
	}
	// Re-apply with a change updates.
	changed := strings.Replace(manifest, `"backoffLimit":2`, `"backoffLimit":4`, 1)
	e.mustDo(200, "PATCH", path, "application/apply-patch+yaml", changed).decode(t, &job)
	if *job.Spec.BackoffLimit != 4 || job.Generation != 2 {
		t.Errorf("re-apply: backoffLimit %d generation %d", *job.Spec.BackoffLimit, job.Generation)
	}
	// Another manager changing the same field conflicts.
	other := strings.Replace(manifest, `"backoffLimit":2`, `"backoffLimit":6`, 1)
	st := e.mustDo(409, "PATCH", jobPath+"/ssa?fieldManager=other", "application/apply-patch+yaml", other).status(t)
	if st.Reason != metav1.StatusReasonConflict || st.Details == nil || len(st.Details.Causes) == 0 || st.Details.Causes[0].Type != metav1.CauseTypeFieldManagerConflict {
		t.Errorf("conflict status = %+v", st)
	}
	// YAML bodies work too.
	yamlManifest := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fromyaml\ndata:\n  k: v\n"
	e.mustDo(201, "PATCH", cmPath+"/fromyaml?fieldManager=kubectl", "application/apply-patch+yaml", yamlManifest)
	e.mustDo(400, "PATCH", cmPath+"/fromyaml", "application/apply-patch+yaml", yamlManifest)
}

func hasManager(entries []metav1.ManagedFieldsEntry, manager string, op metav1.ManagedFieldsOperationType) bool {
	for _, e := range entries {
		if e.Manager == manager && e.Operation == op {
			return true
		}
	}
	return false
}
