package openapi

import (
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kjet-dev/kjet/internal/registry"
)

// patchMediaTypes are the PATCH bodies the API server accepts; kubectl's client-side
// apply computes a strategic merge patch only when the PATCH operation lists its type.
var patchMediaTypes = []string{
	"application/apply-patch+yaml",
	"application/json-patch+json",
	"application/merge-patch+json",
	"application/strategic-merge-patch+json",
}

const patchSchemaName = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"

// gvPath is the URL prefix of a group version: /api/v1 or /apis/<group>/<version>.
func gvPath(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "/api/" + gv.Version
	}
	return "/apis/" + gv.Group + "/" + gv.Version
}

// docName is the name of a group version's document in /openapi/v3 discovery:
// api/v1 or apis/<group>/<version>.
func docName(gv schema.GroupVersion) string {
	return strings.TrimPrefix(gvPath(gv), "/")
}

// resourcePaths builds the OpenAPI paths of one resource (collection, item and, when
// served, the status subresource) whose operations carry the
// x-kubernetes-group-version-kind and x-kubernetes-action extensions kubectl looks for.
// kindRef and listRef name the component schemas of the kind and its list.
func resourcePaths(r registry.Resource, kindRef, listRef string) map[string]any {
	gvr := r.GroupVersionResource
	gvk := map[string]any{"group": gvr.Group, "version": gvr.Version, "kind": r.Kind}
	prefix := gvPath(gvr.GroupVersion())
	scope := ""
	base := prefix
	pathParams := []any{}
	if r.Namespaced {
		scope = "Namespaced"
		base = prefix + "/namespaces/{namespace}"
		pathParams = append(pathParams, pathParam("namespace", "object name and auth scope, such as for teams and projects"))
	}
	op := func(verb, action, ref, suffix string, extraParams ...any) map[string]any {
		o := map[string]any{
			"operationId":                     verb + scope + r.Kind + suffix,
			"x-kubernetes-action":             action,
			"x-kubernetes-group-version-kind": gvk,
			"responses": map[string]any{
				"200": map[string]any{
					"description": "OK",
					"content":     jsonContent(ref),
				},
				"401": map[string]any{"description": "Unauthorized"},
			},
		}
		if len(extraParams) > 0 {
			o["parameters"] = extraParams
		}
		return o
	}
	write := func(verb, action, suffix string) map[string]any {
		o := op(verb, action, kindRef, suffix, queryParam("dryRun"), queryParam("fieldManager"), queryParam("fieldValidation"))
		o["requestBody"] = map[string]any{"required": true, "content": jsonContent(kindRef)}
		return o
	}
	patch := func(suffix string) map[string]any {
		o := op("patch", "patch", kindRef, suffix, queryParam("dryRun"), queryParam("fieldManager"), queryParam("fieldValidation"), queryParam("force"))
		content := map[string]any{}
		for _, mt := range patchMediaTypes {
			content[mt] = map[string]any{"schema": ref(patchSchemaName)}
		}
		o["requestBody"] = map[string]any{"required": true, "content": content}
		return o
	}
	listParams := []any{queryParam("labelSelector"), queryParam("fieldSelector"), queryParam("limit"),
		queryParam("continue"), queryParam("resourceVersion"), queryParam("watch"), queryParam("timeoutSeconds")}

	paths := map[string]any{}
	collection := base + "/" + gvr.Resource
	item := collection + "/{name}"
	itemParams := append([]any{pathParam("name", "name of the "+r.Kind)}, pathParams...)
	paths[collection] = map[string]any{
		"parameters": append(append([]any{}, pathParams...), queryParam("pretty")),
		"get":        op("list", "list", listRef, "", listParams...),
		"post":       write("create", "post", ""),
		"delete":     op("deleteCollection", "deletecollection", "io.k8s.apimachinery.pkg.apis.meta.v1.Status", ""),
	}
	paths[item] = map[string]any{
		"parameters": append(append([]any{}, itemParams...), queryParam("pretty")),
		"get":        op("read", "get", kindRef, ""),
		"put":        write("replace", "put", ""),
		"patch":      patch(""),
		"delete":     op("delete", "delete", "io.k8s.apimachinery.pkg.apis.meta.v1.Status", ""),
	}
	if r.Namespaced {
		paths[prefix+"/"+gvr.Resource] = map[string]any{
			"parameters": []any{queryParam("pretty")},
			"get": func() map[string]any {
				o := op("list", "list", listRef, "ForAllNamespaces", listParams...)
				o["operationId"] = "list" + r.Kind + "ForAllNamespaces"
				return o
			}(),
		}
	}
	if r.Status != nil {
		paths[item+"/status"] = map[string]any{
			"parameters": append(append([]any{}, itemParams...), queryParam("pretty")),
			"get":        op("read", "get", kindRef, "Status"),
			"put":        write("replace", "put", "Status"),
			"patch":      patch("Status"),
		}
	}
	return paths
}

func ref(name string) map[string]any {
	return map[string]any{"$ref": schemaRefPrefix + name}
}

func jsonContent(schemaName string) map[string]any {
	return map[string]any{
		"application/json": map[string]any{"schema": ref(schemaName)},
		"application/yaml": map[string]any{"schema": ref(schemaName)},
	}
}

func pathParam(name, desc string) map[string]any {
	return map[string]any{"name": name, "in": "path", "required": true, "description": desc,
		"schema": map[string]any{"type": "string", "uniqueItems": true}}
}

// queryParam describes the standard query parameters of Kubernetes operations.
func queryParam(name string) map[string]any {
	desc := map[string]string{
		"pretty":          "If 'true', then the output is pretty printed.",
		"dryRun":          "When present, indicates that modifications should not be persisted. Valid value: All.",
		"fieldManager":    "fieldManager is a name associated with the actor or entity that is making these changes.",
		"fieldValidation": "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn (the default) and Strict.",
		"force":           "Force is going to \"force\" Apply requests. It must be unset for non-apply patch requests.",
		"labelSelector":   "A selector to restrict the list of returned objects by their labels.",
		"fieldSelector":   "A selector to restrict the list of returned objects by their fields.",
		"limit":           "limit is a maximum number of responses to return for a list call.",
		"continue":        "The continue option should be set when retrieving more results from the server.",
		"resourceVersion": "resourceVersion sets a constraint on what resource versions a request may be served from.",
		"watch":           "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.",
		"timeoutSeconds":  "Timeout for the list/watch call.",
	}[name]
	typ := "string"
	switch name {
	case "force", "watch":
		typ = "boolean"
	case "limit", "timeoutSeconds":
		typ = "integer"
	}
	return map[string]any{"name": name, "in": "query", "description": desc,
		"schema": map[string]any{"type": typ, "uniqueItems": true}}
}

// pathResource is the resource (plural) a path of a group version document is about,
// or "" for the group version's own root path: /api/v1/namespaces/{namespace}/pods/{name}
// is about pods, /api/v1/watch/nodes about nodes, /api/v1/namespaces/{name} about
// namespaces.
func pathResource(path, prefix string) string {
	rest := strings.TrimPrefix(path, prefix)
	rest = strings.TrimPrefix(rest, "/watch")
	rest = strings.TrimPrefix(rest, "/")
	if r, ok := strings.CutPrefix(rest, "namespaces/{namespace}/"); ok {
		rest = r
	}
	first, _, _ := strings.Cut(rest, "/")
	return first
}
