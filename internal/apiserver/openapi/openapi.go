// Package openapi serves kjet's OpenAPI v3 documents (/openapi/v3 and
// /openapi/v3/<group-version>), which kubectl uses to validate manifests (it looks for
// PATCH operations carrying x-kubernetes-group-version-kind and a fieldValidation
// parameter), to compute client-side apply patches (patch strategies in the component
// schemas) and for `kubectl explain`.
//
// For api/v1, apps/v1 and batch/v1 the documents start from upstream Kubernetes'
// own (embedded, see upstream/README.md), pruned to the resources kjet serves; any
// served resource they lack, and every other group version, gets paths and schemas
// generated from the registry and the Go types. Documents are built on first request,
// so the handler costs nothing at start-up. Served: /openapi/v3, /openapi/v3/<gv>
// and /openapi/v2 (JSON or the protobuf kubectl asks for) derived from the v3 documents,
// which kubectl before 1.29 needs for apply.
package openapi

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/cached"
	"k8s.io/kube-openapi/pkg/handler3"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/kjet-dev/kjet/internal/registry"
)

//go:embed upstream/*.json.gz
var upstreamDocs embed.FS

// upstreamFile maps a document name to its embedded upstream copy.
func upstreamFile(name string) string {
	return "upstream/" + strings.ReplaceAll(name, "/", "__") + "_openapi.json.gz"
}

// Handler serves /openapi/v3 discovery and the per-group-version documents.
type Handler struct {
	service *handler3.OpenAPIService
	// v2 serves /openapi/v2 (JSON or protobuf), derived from the v3 documents.
	v2 http.Handler
	// docs maps a document name (api/v1, apis/batch/v1) to its lazily built document.
	// Immutable after NewHandler.
	docs map[string]cached.Value[*spec3.OpenAPI]
}

var _ http.Handler = (*Handler)(nil)

// NewHandler returns the OpenAPI handler for resources. It only groups the resources;
// documents are built on first request.
func NewHandler(resources []registry.Resource) (*Handler, error) {
	byGV := map[schema.GroupVersion][]registry.Resource{}
	seen := map[schema.GroupVersionResource]bool{}
	for _, r := range resources {
		gvr := r.GroupVersionResource
		if gvr.Version == "" || gvr.Resource == "" || r.Kind == "" || r.New == nil || r.NewList == nil {
			return nil, fmt.Errorf("openapi: resource %v (kind %q) lacks a version, resource name, kind or constructors", gvr, r.Kind)
		}
		if seen[gvr] {
			return nil, fmt.Errorf("openapi: resource %v listed twice", gvr)
		}
		seen[gvr] = true
		byGV[gvr.GroupVersion()] = append(byGV[gvr.GroupVersion()], r)
	}
	h := &Handler{service: handler3.NewOpenAPIService(), docs: map[string]cached.Value[*spec3.OpenAPI]{}}
	for gv, rs := range byGV {
		gv, rs := gv, rs
		name := docName(gv)
		doc := cached.Once(cached.Func(func() (*spec3.OpenAPI, string, error) {
			d, err := buildDocument(gv, rs)
			return d, "", err
		}))
		h.docs[name] = doc
		h.service.UpdateGroupVersionLazy(name, doc)
	}
	h.v2 = newV2Handler(h.docs)
	return h, nil
}

// ServeHTTP serves GET /openapi/v2, /openapi/v3 and /openapi/v3/<gv>; everything else
// is a 404 Status.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeStatus(w, apierrors.NewMethodNotSupported(schema.GroupResource{Resource: "openapi"}, r.Method))
		return
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	if path == "/openapi/v2" {
		for _, d := range h.docs {
			if _, _, err := d.Get(); err != nil {
				writeStatus(w, apierrors.NewInternalError(err))
				return
			}
		}
		r.URL.Path = path
		h.v2.ServeHTTP(w, r)
		return
	}
	if path == "/openapi/v3" {
		for _, d := range h.docs {
			if _, _, err := d.Get(); err != nil {
				writeStatus(w, apierrors.NewInternalError(err))
				return
			}
		}
		h.service.HandleDiscovery(w, r)
		return
	}
	if name, ok := strings.CutPrefix(path, "/openapi/v3/"); ok {
		doc, known := h.docs[name]
		if !known {
			writeStatus(w, apierrors.NewNotFound(schema.GroupResource{}, ""))
			return
		}
		if _, _, err := doc.Get(); err != nil {
			writeStatus(w, apierrors.NewInternalError(err))
			return
		}
		h.service.HandleGroupVersion(w, r)
		return
	}
	writeStatus(w, apierrors.NewNotFound(schema.GroupResource{}, ""))
}

// buildDocument builds one group version's document.
func buildDocument(gv schema.GroupVersion, resources []registry.Resource) (*spec3.OpenAPI, error) {
	name := docName(gv)
	doc, err := loadUpstream(name)
	if err != nil {
		return nil, err
	}
	if doc == nil {
		doc = &spec3.OpenAPI{
			Version: "3.0.0",
			Info:    &spec.Info{InfoProps: spec.InfoProps{Title: "Kubernetes", Version: "unversioned"}},
		}
	}
	if doc.Paths == nil {
		doc.Paths = &spec3.Paths{}
	}
	if doc.Paths.Paths == nil {
		doc.Paths.Paths = map[string]*spec3.Path{}
	}
	if doc.Components == nil {
		doc.Components = &spec3.Components{}
	}
	if doc.Components.Schemas == nil {
		doc.Components.Schemas = map[string]*spec.Schema{}
	}

	// Keep only the paths of served resources (and the group version's root).
	prefix := gvPath(gv)
	served := map[string]bool{}
	for _, r := range resources {
		served[r.GroupVersionResource.Resource] = true
	}
	for p := range doc.Paths.Paths {
		if res := pathResource(p, prefix); res != "" && !served[res] {
			delete(doc.Paths.Paths, p)
		}
	}

	// Generate what upstream lacks.
	sb := newSchemaBuilder()
	newPaths := map[string]any{}
	for _, r := range resources {
		gvk := gv.WithKind(r.Kind)
		item := prefix + "/" + r.GroupVersionResource.Resource + "/{name}"
		if r.Namespaced {
			item = prefix + "/namespaces/{namespace}/" + r.GroupVersionResource.Resource + "/{name}"
		}
		kindRef := findKindSchema(doc, gvk)
		listRef := findKindSchema(doc, gv.WithKind(r.Kind+"List"))
		if kindRef == "" {
			kindRef = sb.kind(r.New(), gvk)
		}
		if listRef == "" {
			listRef = sb.kind(r.NewList(), gv.WithKind(r.Kind+"List"))
		}
		if doc.Paths.Paths[item] == nil {
			for p, v := range resourcePaths(r, kindRef, listRef) {
				newPaths[p] = v
			}
		}
	}
	if len(newPaths) > 0 {
		if _, ok := doc.Components.Schemas[patchSchemaName]; !ok {
			sb.defs[patchSchemaName] = map[string]any{
				"type":        "object",
				"description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
			}
		}
		sb.schemaFor(statusType)
	}
	if err := mergeGenerated(doc, newPaths, sb.defs); err != nil {
		return nil, fmt.Errorf("openapi: building %s: %w", name, err)
	}
	return doc, nil
}

// loadUpstream returns the embedded upstream document name, or nil if there is none.
func loadUpstream(name string) (*spec3.OpenAPI, error) {
	gz, err := upstreamDocs.ReadFile(upstreamFile(name))
	if err != nil {
		return nil, nil // no upstream copy of this group version
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("openapi: reading embedded %s: %w", name, err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("openapi: reading embedded %s: %w", name, err)
	}
	doc := &spec3.OpenAPI{}
	if err := json.Unmarshal(raw, doc); err != nil {
		return nil, fmt.Errorf("openapi: decoding embedded %s: %w", name, err)
	}
	return doc, nil
}

// findKindSchema returns the name of the component schema whose
// x-kubernetes-group-version-kind includes gvk, or "".
func findKindSchema(doc *spec3.OpenAPI, gvk schema.GroupVersionKind) string {
	names := make([]string, 0, len(doc.Components.Schemas))
	for n := range doc.Components.Schemas {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ext, ok := doc.Components.Schemas[n].Extensions["x-kubernetes-group-version-kind"]
		if !ok {
			continue
		}
		list, _ := ext.([]any)
		for _, e := range list {
			m, _ := e.(map[string]any)
			if m["group"] == gvk.Group && m["version"] == gvk.Version && m["kind"] == gvk.Kind {
				return n
			}
		}
	}
	return ""
}

// mergeGenerated adds generated paths and schemas (in JSON form) to doc, keeping any
// schema doc already has.
func mergeGenerated(doc *spec3.OpenAPI, paths map[string]any, defs map[string]map[string]any) error {
	for p, v := range paths {
		var path spec3.Path
		if err := roundTrip(v, &path); err != nil {
			return fmt.Errorf("path %s: %w", p, err)
		}
		doc.Paths.Paths[p] = &path
	}
	for n, v := range defs {
		if _, ok := doc.Components.Schemas[n]; ok {
			continue
		}
		var s spec.Schema
		if err := roundTrip(v, &s); err != nil {
			return fmt.Errorf("schema %s: %w", n, err)
		}
		doc.Components.Schemas[n] = &s
	}
	return nil
}

func roundTrip(in any, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// writeStatus writes err's metav1.Status as JSON.
func writeStatus(w http.ResponseWriter, err *apierrors.StatusError) {
	st := err.ErrStatus
	st.Kind, st.APIVersion = "Status", "v1"
	if st.Reason == "NotFound" {
		st.Message = "the server could not find the requested resource"
		st.Details = nil
	}
	b, mErr := json.Marshal(&st)
	if mErr != nil {
		http.Error(w, st.Message, int(st.Code))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(int(st.Code))
	_, _ = w.Write(append(b, '\n'))
}
