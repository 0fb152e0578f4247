package openapi

import (
	"net/http"
	"net/http/httptest"
	"testing"

	openapiv2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
	openapiproto "k8s.io/kube-openapi/pkg/util/proto"
)

// TestV2ProtobufParsesLikeKubectl fetches /openapi/v2 as kubectl before 1.29 does
// (protobuf) and parses it with the same code kubectl uses.
func TestV2ProtobufParsesLikeKubectl(t *testing.T) {
	h, err := NewHandler(testResources())
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/openapi/v2", nil)
	req.Header.Set("Accept", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != v2ProtobufType {
		t.Fatalf("/openapi/v2: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	doc := &openapiv2.Document{}
	if err := proto.Unmarshal(rec.Body.Bytes(), doc); err != nil {
		t.Fatalf("decoding protobuf: %v", err)
	}
	models, err := openapiproto.NewOpenAPIData(doc)
	if err != nil {
		t.Fatalf("kubectl's parser rejects the document: %v", err)
	}
	cases := []struct{ name, model, field string }{
		{"upstream job", "io.k8s.api.batch.v1.JobSpec", "backoffLimit"},
		{"generated lease", "io.k8s.api.coordination.v1.LeaseSpec", "holderIdentity"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := models.LookupModel(tc.model)
			kind, ok := m.(*openapiproto.Kind)
			if !ok {
				t.Fatalf("model %s = %T", tc.model, m)
			}
			if _, ok := kind.Fields[tc.field]; !ok {
				t.Fatalf("%s has no field %s", tc.model, tc.field)
			}
		})
	}
	var patchHasFieldValidation bool
	for _, item := range doc.GetPaths().GetPath() {
		if item.GetName() != "/apis/batch/v1/namespaces/{namespace}/jobs/{name}" {
			continue
		}
		for _, p := range item.GetValue().GetPatch().GetParameters() {
			if p.GetParameter().GetNonBodyParameter().GetQueryParameterSubSchema().GetName() == "fieldValidation" {
				patchHasFieldValidation = true
			}
		}
	}
	if !patchHasFieldValidation {
		t.Fatal("v2 job PATCH operation lacks the fieldValidation parameter")
	}

	req = httptest.NewRequest(http.MethodGet, "/openapi/v2", nil)
	req.Header.Set("Accept", "application/json")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("/openapi/v2 as JSON: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
}
