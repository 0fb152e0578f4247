package apiserver

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/version"

	"github.com/kjet-dev/kjet/internal/registry/catalog"
	"github.com/kjet-dev/kjet/internal/storage/memory"
)

// fuzzJob is the seed Job every fuzz input patches (a fresh copy each time).
const fuzzJob = `{"apiVersion":"batch/v1","kind":"Job","metadata":{"generateName":"fuzz-","labels":{"app":"batch-job"}},
"spec":{"completions":5,"parallelism":2,"backoffLimit":4,"template":{"metadata":{"labels":{"app":"batch-job"}},
"spec":{"restartPolicy":"OnFailure","containers":[{"name":"main","image":"luksa/batch-job","command":["sh","-c","echo hi"]}]}}}}`

// patchTypes are the media types a PATCH may carry; the fuzzer picks one per input.
var patchTypes = []string{
	"application/json-patch+json",
	"application/merge-patch+json",
	"application/strategic-merge-patch+json",
	"application/apply-patch+yaml",
}

// FuzzPatchJob applies arbitrary patch bodies of every patch type to a Job (and to its
// status) and requires a well-formed answer: never a 5xx, never a panic.
func FuzzPatchJob(f *testing.F) {
	seeds := []struct {
		kind uint8
		body string
	}{
		{1, `{"spec":{"parallelism":3}}`},
		{1, `{"spec":{"completions":null}}`},
		{0, `[{"op":"replace","path":"/spec/parallelism","value":4}]`},
		{0, `[{"op":"add","path":"/metadata/finalizers","value":["a/b"]}]`},
		{0, `[{"op":"remove","path":"/spec/template/spec/containers/0"}]`},
		{2, `{"metadata":{"$deleteFromPrimitiveList/finalizers":["batch.kubernetes.io/job-tracking"]}}`},
		{2, `{"spec":{"template":{"spec":{"containers":[{"name":"main","$patch":"delete"}]}}}}`},
		{2, `{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"busybox"}]}}}}`},
		{3, "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: NAME\nspec:\n  parallelism: 1\n"},
		{3, "apiVersion: batch/v1\nkind: CronJob\n"},
		{1, `{"status":{"succeeded":-1}}`},
		{1, `null`},
		{0, `{}`},
	}
	for _, s := range seeds {
		f.Add(s.kind, false, []byte(s.body))
		f.Add(s.kind, true, []byte(s.body))
	}
	store := memory.New(memory.Options{})
	f.Cleanup(func() { _ = store.Close() })
	s, err := New(Options{
		Storage: store, Resources: catalog.Resources(),
		Version: version.Info{Major: "1", Minor: "37", GitVersion: "v1.37.2+kjet.fuzz"},
	})
	if err != nil {
		f.Fatal(err)
	}
	if err := s.Bootstrap(context.Background()); err != nil {
		f.Fatal(err)
	}
	handler := s.Handler()
	const jobs = "/apis/batch/v1/namespaces/default/jobs"

	f.Fuzz(func(t *testing.T, kind uint8, status bool, body []byte) {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, jobs, strings.NewReader(fuzzJob)))
		if rec.Code != http.StatusCreated {
			t.Fatalf("creating the seed Job: %d %s", rec.Code, rec.Body)
		}
		var created struct {
			Metadata struct{ Name string } `json:"metadata"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil {
			t.Fatal(err)
		}
		name := created.Metadata.Name
		path := jobs + "/" + name
		if status {
			path += "/status"
		}
		patch := strings.ReplaceAll(string(body), "NAME", name)
		req := httptest.NewRequest(http.MethodPatch, path+"?fieldManager=fuzz", strings.NewReader(patch))
		req.Header.Set("Content-Type", patchTypes[int(kind)%len(patchTypes)])
		rec = httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("PATCH %s (%s) %q: %d %s", path, req.Header.Get("Content-Type"), patch, rec.Code, rec.Body)
		}
		rec = httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest(http.MethodDelete, jobs+"/"+name, strings.NewReader(`{"propagationPolicy":"Background"}`)))
		if rec.Code >= 500 {
			t.Fatalf("DELETE after patch: %d %s", rec.Code, rec.Body)
		}
	})
}
