package openapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	openapiv2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"k8s.io/kube-openapi/pkg/cached"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// kubectl before 1.29 computes client-side apply patches (and finds the server's
// fieldValidation support) from the OpenAPI v2 document, fetched as protobuf from
// /openapi/v2, and fails `apply` when there is none. That document is derived here from
// the v3 documents: definitions from component schemas, body parameters from request
// bodies, and v3-only schema keywords mapped or dropped so that the protobuf (gnostic)
// conversion and kubectl's parser accept it.

// v2SchemaKeys are the JSON Schema keywords an OpenAPI v2 schema may have (besides x-).
var v2SchemaKeys = map[string]bool{
	"$ref": true, "format": true, "title": true, "description": true, "default": true,
	"multipleOf": true, "maximum": true, "exclusiveMaximum": true, "minimum": true,
	"exclusiveMinimum": true, "maxLength": true, "minLength": true, "pattern": true,
	"maxItems": true, "minItems": true, "uniqueItems": true, "maxProperties": true,
	"minProperties": true, "required": true, "enum": true, "additionalProperties": true,
	"type": true, "items": true, "allOf": true, "properties": true, "discriminator": true,
	"readOnly": true, "example": true,
}

// v2OperationKeys are the operation fields carried over from v3 unchanged.
var v2OperationKeys = map[string]bool{"operationId": true, "description": true, "tags": true, "summary": true, "deprecated": true}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch"}

// Media types of the v2 document.
const (
	// v2ProtobufType is the protobuf media type, and the Content-Type of protobuf
	// answers (clients parse it with mime.ParseMediaType, which rejects the "@" form).
	v2ProtobufType = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
	// v2ProtobufTypeAt is the name kubectl asks for.
	v2ProtobufTypeAt = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
)

// v2Document is the encoded v2 document.
type v2Document struct {
	json, protobuf []byte
	etag           string
	built          time.Time
}

// v2Handler serves the v2 document as JSON or, when asked, protobuf; it is built on
// first request.
type v2Handler struct {
	doc cached.Value[v2Document]
}

var _ http.Handler = (*v2Handler)(nil)

func newV2Handler(docs map[string]cached.Value[*spec3.OpenAPI]) *v2Handler {
	return &v2Handler{doc: cached.Once(cached.Func(func() (v2Document, string, error) {
		sw, err := buildSwagger(docs)
		if err != nil {
			return v2Document{}, "", err
		}
		js, err := sw.MarshalJSON()
		if err != nil {
			return v2Document{}, "", fmt.Errorf("openapi v2: encoding: %w", err)
		}
		parsed, err := openapiv2.ParseDocument(js)
		if err != nil {
			return v2Document{}, "", fmt.Errorf("openapi v2: converting to protobuf: %w", err)
		}
		pb, err := proto.Marshal(parsed)
		if err != nil {
			return v2Document{}, "", fmt.Errorf("openapi v2: encoding protobuf: %w", err)
		}
		sum := sha256.Sum256(js)
		etag := hex.EncodeToString(sum[:])
		return v2Document{json: js, protobuf: pb, etag: etag, built: time.Now()}, etag, nil
	}))}
}

func (h *v2Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	doc, _, err := h.doc.Get()
	if err != nil {
		writeStatus(w, apierrors.NewInternalError(err))
		return
	}
	body, ctype := doc.json, "application/json"
	accept := r.Header.Get("Accept")
	if strings.Contains(accept, v2ProtobufType) || strings.Contains(accept, v2ProtobufTypeAt) {
		body, ctype = doc.protobuf, v2ProtobufType
	}
	w.Header().Add("Vary", "Accept")
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Etag", strconv.Quote(doc.etag))
	http.ServeContent(w, r, "", doc.built, bytes.NewReader(body))
}

func buildSwagger(docs map[string]cached.Value[*spec3.OpenAPI]) (*spec.Swagger, error) {
	names := make([]string, 0, len(docs))
	for n := range docs {
		names = append(names, n)
	}
	sort.Strings(names)
	paths := map[string]any{}
	defs := map[string]any{}
	for _, n := range names {
		v3, _, err := docs[n].Get()
		if err != nil {
			return nil, err
		}
		raw, err := json.Marshal(v3)
		if err != nil {
			return nil, fmt.Errorf("openapi v2: encoding %s: %w", n, err)
		}
		var doc struct {
			Paths      map[string]map[string]any `json:"paths"`
			Components struct {
				Schemas map[string]any `json:"schemas"`
			} `json:"components"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			return nil, fmt.Errorf("openapi v2: decoding %s: %w", n, err)
		}
		for name, s := range doc.Components.Schemas {
			if _, ok := defs[name]; !ok {
				defs[name] = v2Schema(s)
			}
		}
		for p, item := range doc.Paths {
			paths[p] = v2PathItem(item)
		}
	}
	sw := map[string]any{
		"swagger":     "2.0",
		"info":        map[string]any{"title": "Kubernetes", "version": "unversioned"},
		"paths":       paths,
		"definitions": defs,
	}
	raw, err := json.Marshal(sw)
	if err != nil {
		return nil, fmt.Errorf("openapi v2: encoding: %w", err)
	}
	raw = []byte(strings.ReplaceAll(string(raw), `"`+schemaRefPrefix, `"#/definitions/`))
	out := &spec.Swagger{}
	if err := json.Unmarshal(raw, out); err != nil {
		return nil, fmt.Errorf("openapi v2: decoding: %w", err)
	}
	return out, nil
}

func v2PathItem(item map[string]any) map[string]any {
	out := map[string]any{}
	if ps, ok := item["parameters"].([]any); ok {
		out["parameters"] = v2Parameters(ps)
	}
	for _, m := range httpMethods {
		if op, ok := item[m].(map[string]any); ok {
			out[m] = v2Operation(op)
		}
	}
	return out
}

func v2Operation(op map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range op {
		if v2OperationKeys[k] || strings.HasPrefix(k, "x-") {
			out[k] = v
		}
	}
	var params []any
	if ps, ok := op["parameters"].([]any); ok {
		params = v2Parameters(ps)
	}
	if rb, ok := op["requestBody"].(map[string]any); ok {
		content, _ := rb["content"].(map[string]any)
		consumes := sortedKeys(content)
		body := map[string]any{"name": "body", "in": "body", "required": rb["required"] == true}
		if len(consumes) > 0 {
			mt, _ := content[consumes[0]].(map[string]any)
			body["schema"] = v2Schema(mt["schema"])
			out["consumes"] = consumes
		}
		params = append(params, body)
	}
	if len(params) > 0 {
		out["parameters"] = params
	}
	responses := map[string]any{}
	produces := map[string]bool{}
	if rs, ok := op["responses"].(map[string]any); ok {
		for code, r := range rs {
			rm, _ := r.(map[string]any)
			desc, _ := rm["description"].(string)
			resp := map[string]any{"description": desc}
			if content, ok := rm["content"].(map[string]any); ok {
				for _, mt := range sortedKeys(content) {
					produces[mt] = true
				}
				if mt, ok := content["application/json"].(map[string]any); ok {
					resp["schema"] = v2Schema(mt["schema"])
				}
			}
			responses[code] = resp
		}
	}
	if len(responses) == 0 {
		responses["200"] = map[string]any{"description": "OK"}
	}
	out["responses"] = responses
	if len(produces) > 0 {
		out["produces"] = sortedKeys(produces)
	}
	return out
}

// v2Parameters turns v3 query/path parameters (type under "schema") into v2 ones.
func v2Parameters(ps []any) []any {
	out := make([]any, 0, len(ps))
	for _, p := range ps {
		pm, ok := p.(map[string]any)
		if !ok {
			continue
		}
		q := map[string]any{}
		for _, k := range []string{"name", "in", "description", "required"} {
			if v, ok := pm[k]; ok {
				q[k] = v
			}
		}
		typ := "string"
		if s, ok := pm["schema"].(map[string]any); ok {
			if t, ok := s["type"].(string); ok && t != "object" && t != "array" {
				typ = t
			}
			if u, ok := s["uniqueItems"]; ok {
				q["uniqueItems"] = u
			}
		}
		q["type"] = typ
		out = append(out, q)
	}
	return out
}

// v2Schema maps a v3 schema to v2: int-or-string becomes format int-or-string,
// a lone allOf reference becomes a plain reference, and v3-only keywords (anyOf,
// oneOf, nullable, ...) are dropped.
func v2Schema(s any) any {
	m, ok := s.(map[string]any)
	if !ok {
		return s
	}
	if m["x-kubernetes-int-or-string"] == true {
		out := map[string]any{"type": "string", "format": "int-or-string", "x-kubernetes-int-or-string": true}
		if d, ok := m["description"]; ok {
			out["description"] = d
		}
		return out
	}
	if all, ok := m["allOf"].([]any); ok && len(all) == 1 {
		if ref, ok := all[0].(map[string]any)["$ref"]; ok {
			out := map[string]any{"$ref": ref}
			if d, ok := m["description"]; ok {
				out["description"] = d
			}
			for k, v := range m {
				if strings.HasPrefix(k, "x-") {
					out[k] = v
				}
			}
			return out
		}
	}
	out := map[string]any{}
	for k, v := range m {
		if !v2SchemaKeys[k] && !strings.HasPrefix(k, "x-") {
			continue
		}
		switch k {
		case "items", "additionalProperties":
			out[k] = v2Schema(v)
		case "properties":
			props, _ := v.(map[string]any)
			np := make(map[string]any, len(props))
			for pn, pv := range props {
				np[pn] = v2Schema(pv)
			}
			out[k] = np
		case "allOf":
			list, _ := v.([]any)
			nl := make([]any, 0, len(list))
			for _, e := range list {
				nl = append(nl, v2Schema(e))
			}
			out[k] = nl
		default:
			out[k] = v
		}
	}
	if out["format"] == "int-or-string" && out["type"] == nil {
		out["type"] = "string"
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
