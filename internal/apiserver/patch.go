package apiserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/mergepatch"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

var supportedPatchTypes = []string{
	string(types.JSONPatchType), string(types.MergePatchType),
	string(types.StrategicMergePatchType), string(types.ApplyYAMLPatchType),
}

func (s *Server) servePatch(w http.ResponseWriter, r *http.Request, req apiRequest) {
	validation, err := parseFieldValidation(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	o := writeOptions{dryRun: isDryRun(r), manager: fieldManagerName(r), subresource: req.subresource}
	patchType := types.PatchType(requestMediaType(r))
	switch patchType {
	case types.ApplyYAMLPatchType, types.ApplyCBORPatchType:
		if patchType == types.ApplyCBORPatchType {
			s.writeError(w, r, unsupportedPatch(req.res, patchType))
			return
		}
		s.serveApply(w, r, req, body, o)
		return
	case types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType:
	default:
		s.writeError(w, r, unsupportedPatch(req.res, patchType))
		return
	}
	var warnings []string
	updated, err := s.updateObject(r.Context(), req.res, req.namespace, req.name, func(current runtime.Object) (runtime.Object, error) {
		warnings = nil
		obj, w, err := s.applyPatch(req.res, current, patchType, body, validation)
		warnings = w
		return obj, err
	}, o)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	addWarnings(w, warnings)
	s.respondObject(w, r, req.res, http.StatusOK, updated)
}

func unsupportedPatch(res *resource, patchType types.PatchType) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusUnsupportedMediaType,
		Reason:  metav1.StatusReasonUnsupportedMediaType,
		Message: fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: %s", strings.Join(supportedPatchTypes, ", ")),
		Details: &metav1.StatusDetails{Group: res.gr.Group, Kind: res.gr.Resource},
	}}
}

// applyPatch patches current (a JSON/merge/strategic patch) and decodes the result.
// The resourceVersion of the result is a precondition only if the patch changed it.
func (s *Server) applyPatch(res *resource, current runtime.Object, patchType types.PatchType, patch []byte, validation fieldValidation) (runtime.Object, []string, error) {
	if obj, ok := applyMetadataPatch(res, current, patchType, patch); ok {
		return obj, nil, nil
	}
	return s.applyPatchToObject(res, current, patchType, patch, validation)
}

// applyPatchToObject applies patch to the whole of current, through its JSON form.
func (s *Server) applyPatchToObject(res *resource, current runtime.Object, patchType types.PatchType, patch []byte, validation fieldValidation) (runtime.Object, []string, error) {
	currentAccessor, err := metaAccessor(current)
	if err != nil {
		return nil, nil, err
	}
	currentRV := currentAccessor.GetResourceVersion()
	var buf bytes.Buffer
	current.GetObjectKind().SetGroupVersionKind(res.gvk)
	if err := s.codecs.json.Encode(current, &buf); err != nil {
		return nil, nil, apierrors.NewInternalError(err)
	}
	original := buf.Bytes()
	patched, err := patchJSON(original, patchType, patch, res.New(), res.gr, res.gvk.GroupKind(), currentAccessor.GetName())
	if err != nil {
		return nil, nil, err
	}
	obj := res.New()
	var warnings []string
	decoder := s.codecs.decoders[mediaJSON].lenient
	if validation != validationIgnore {
		decoder = s.codecs.decoders[mediaJSON].strict
	}
	gvk := res.gvk
	if _, _, err := decoder.Decode(patched, &gvk, obj); err != nil {
		strictErr, isStrict := runtime.AsStrictDecodingError(err)
		switch {
		case isStrict && validation == validationStrict:
			return nil, nil, apierrors.NewInvalid(res.gvk.GroupKind(), currentAccessor.GetName(), field.ErrorList{
				field.Invalid(field.NewPath("patch"), string(patch), strictErr.Error()),
			})
		case isStrict:
			for _, e := range strictErr.Errors() {
				warnings = append(warnings, e.Error())
			}
		default:
			return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("the patched object cannot be handled as a %s: %v", res.Kind, err))
		}
	}
	accessor, err := metaAccessor(obj)
	if err != nil {
		return nil, nil, err
	}
	if accessor.GetResourceVersion() == currentRV {
		accessor.SetResourceVersion("")
	}
	return obj, warnings, nil
}

// patchJSON applies a JSON, merge or strategic merge patch (schema: an empty object of
// the patched type) to original.
func patchJSON(original []byte, patchType types.PatchType, patch []byte, schema runtime.Object, gr schema.GroupResource, gk schema.GroupKind, name string) ([]byte, error) {
	switch patchType {
	case types.JSONPatchType:
		p, err := jsonpatch.DecodePatch(patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		patched, err := applyJSONPatch(p, original)
		if err != nil {
			return nil, apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", gr, name, err.Error(), 0, false)
		}
		return patched, nil
	case types.MergePatchType:
		patched, err := jsonpatch.MergePatch(original, patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		return patched, nil
	case types.StrategicMergePatchType:
		patched, err := strategicpatch.StrategicMergePatch(original, patch, schema)
		if err != nil {
			if errors.Is(err, mergepatch.ErrUnsupportedStrategicMergePatchFormat) {
				return nil, apierrors.NewInvalid(gk, name, field.ErrorList{
					field.Invalid(field.NewPath("patch"), string(patch), err.Error()),
				})
			}
			return nil, apierrors.NewBadRequest(err.Error())
		}
		return patched, nil
	default:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("unsupported patch type %q", patchType))
	}
}

// applyJSONPatch applies an RFC 6902 patch. Operations that need a value ("add",
// "replace", "test") must carry one: the library dereferences it unchecked (a replace
// of the whole document without a value panicked under fuzzing). Any other panic inside
// the library is reported as a bad patch too: a patch is the client's input.
func applyJSONPatch(p jsonpatch.Patch, original []byte) (patched []byte, err error) {
	for i, op := range p {
		switch op.Kind() {
		case "add", "replace", "test":
			if _, ok := op["value"]; !ok {
				return nil, fmt.Errorf("invalid JSON patch: operation %d (%s) has no value", i, op.Kind())
			}
		}
	}
	defer func() {
		if r := recover(); r != nil {
			patched, err = nil, fmt.Errorf("invalid JSON patch: %v", r)
		}
	}()
	return p.Apply(original)
}

// serveApply is server-side apply: it updates the object through the field manager, or
// creates it when it does not exist.
func (s *Server) serveApply(w http.ResponseWriter, r *http.Request, req apiRequest, body []byte, o writeOptions) {
	res := req.res
	q := r.URL.Query()
	manager := q.Get("fieldManager")
	if manager == "" {
		s.writeError(w, r, apierrors.NewBadRequest("fieldManager is required for apply requests"))
		return
	}
	o.manager = manager
	o.skipManagedFields = true
	force := q.Get("force") == "true"
	fieldManager, statusFieldManager := s.fieldManagers(res)
	if req.subresource == "status" {
		fieldManager = statusFieldManager
	}
	if fieldManager == nil {
		s.writeError(w, r, unsupportedPatch(res, types.ApplyYAMLPatchType))
		return
	}
	applied := &unstructured.Unstructured{Object: map[string]interface{}{}}
	if err := yaml.Unmarshal(body, &applied.Object); err != nil {
		s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("error decoding YAML: %v", err)))
		return
	}
	if applied.GroupVersionKind() != res.gvk {
		s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", applied.GetAPIVersion(), res.gvk.GroupVersion())))
		return
	}
	if applied.GetName() != "" && applied.GetName() != req.name {
		s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", applied.GetName(), req.name)))
		return
	}
	if res.Namespaced && applied.GetNamespace() != "" && applied.GetNamespace() != req.namespace {
		s.writeError(w, r, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request"))
		return
	}
	apply := func(live runtime.Object) (runtime.Object, error) {
		liveAccessor, err := metaAccessor(live)
		if err != nil {
			return nil, err
		}
		liveRV := liveAccessor.GetResourceVersion()
		obj, err := fieldManager.Apply(live, applied.DeepCopy(), manager, force)
		if err != nil {
			return nil, applyError(err)
		}
		accessor, err := metaAccessor(obj)
		if err != nil {
			return nil, err
		}
		if accessor.GetResourceVersion() == liveRV || applied.GetResourceVersion() == "" {
			accessor.SetResourceVersion("")
		}
		return obj, nil
	}
	for attempt := 0; attempt < 3; attempt++ {
		updated, err := s.updateObject(r.Context(), res, req.namespace, req.name, apply, o)
		if err == nil {
			s.respondObject(w, r, res, http.StatusOK, updated)
			return
		}
		if !apierrors.IsNotFound(err) || req.subresource != "" {
			s.writeError(w, r, err)
			return
		}
		created, err := s.applyCreate(r.Context(), req, apply, o)
		if apierrors.IsAlreadyExists(err) {
			continue
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.respondObject(w, r, res, http.StatusCreated, created)
		return
	}
	s.writeError(w, r, conflictError(res, req.name))
}

// applyCreate creates the object an apply request describes.
func (s *Server) applyCreate(ctx context.Context, req apiRequest, apply func(runtime.Object) (runtime.Object, error), o writeOptions) (runtime.Object, error) {
	live := req.res.New()
	accessor, err := metaAccessor(live)
	if err != nil {
		return nil, err
	}
	accessor.SetName(req.name)
	accessor.SetNamespace(req.namespace)
	live.GetObjectKind().SetGroupVersionKind(req.res.gvk)
	obj, err := apply(live)
	if err != nil {
		return nil, err
	}
	created, _, err := s.createObject(ctx, req.res, req.namespace, obj, o)
	return created, err
}

// applyError maps a field manager error to a status: conflicts are already 409s with
// FieldManagerConflict causes; the rest is bad input.
func applyError(err error) error {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return err
	}
	return apierrors.NewBadRequest(err.Error())
}
