package apiserver

import (
	"fmt"
	"io"
	"net/http"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// maxBodyBytes caps request bodies like the apiserver (3 MiB).
const maxBodyBytes = 3 << 20

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("reading request body: %v", err))
	}
	return body, nil
}

// respondObject writes one object as the client negotiated (object, Table row or
// PartialObjectMetadata).
func (s *Server) respondObject(w http.ResponseWriter, r *http.Request, res *resource, code int, obj runtime.Object) {
	n := negotiate(r)
	switch n.kind {
	case acceptTable:
		table, err := s.tableFor(r, res, []runtime.Object{obj}, true)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.writeObject(w, r, code, table, mediaJSON)
	case acceptPartialMetadata:
		pom, err := partialMetadata(obj)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.writeObject(w, r, code, pom, n.mediaType)
	default:
		obj.GetObjectKind().SetGroupVersionKind(res.gvk)
		s.writeObject(w, r, code, obj, n.mediaType)
	}
}

func (s *Server) serveGet(w http.ResponseWriter, r *http.Request, req apiRequest) {
	obj, _, err := s.readObject(r.Context(), req.res, req.namespace, req.name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respondObject(w, r, req.res, http.StatusOK, obj)
}

// decodeWriteBody reads a create or update request's body and decodes it into a new
// object of req's resource, honouring the request's fieldValidation directive; it
// returns the decoder's warnings (unknown or duplicate fields under Warn).
func (s *Server) decodeWriteBody(w http.ResponseWriter, r *http.Request, req apiRequest) (runtime.Object, []string, error) {
	validation, err := parseFieldValidation(r)
	if err != nil {
		return nil, nil, err
	}
	body, err := readBody(w, r)
	if err != nil {
		return nil, nil, err
	}
	obj := req.res.New()
	warnings, err := s.codecs.decodeBody(body, requestMediaType(r), validation, req.res, obj)
	if err != nil {
		return nil, nil, err
	}
	return obj, warnings, nil
}

func (s *Server) serveCreate(w http.ResponseWriter, r *http.Request, req apiRequest) {
	obj, warnings, err := s.decodeWriteBody(w, r, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	namespace := req.namespace
	created, createWarnings, err := s.createObject(r.Context(), req.res, namespace, obj, writeOptions{dryRun: isDryRun(r), manager: fieldManagerName(r)})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	addWarnings(w, append(warnings, createWarnings...))
	s.respondObject(w, r, req.res, http.StatusCreated, created)
}

func (s *Server) serveUpdate(w http.ResponseWriter, r *http.Request, req apiRequest) {
	obj, warnings, err := s.decodeWriteBody(w, r, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	accessor, err := metaAccessor(obj)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if accessor.GetName() != req.name {
		s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", accessor.GetName(), req.name)))
		return
	}
	if req.res.Namespaced && accessor.GetNamespace() != "" && accessor.GetNamespace() != req.namespace {
		s.writeError(w, r, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request"))
		return
	}
	o := writeOptions{dryRun: isDryRun(r), manager: fieldManagerName(r), subresource: req.subresource}
	updated, err := s.updateObject(r.Context(), req.res, req.namespace, req.name, func(runtime.Object) (runtime.Object, error) {
		return obj.DeepCopyObject(), nil
	}, o)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	addWarnings(w, warnings)
	s.respondObject(w, r, req.res, http.StatusOK, updated)
}

// deleteOptionsFrom reads DeleteOptions from the body (JSON, YAML or protobuf) or,
// without a body, from the query.
func (s *Server) deleteOptionsFrom(w http.ResponseWriter, r *http.Request) (*metav1.DeleteOptions, error) {
	body, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	opts := &metav1.DeleteOptions{}
	if len(body) > 0 {
		obj, err := s.codecs.decodeAny(body, requestMediaType(r), corev1.SchemeGroupVersion.WithKind("DeleteOptions"))
		if err != nil {
			return nil, err
		}
		decoded, ok := obj.(*metav1.DeleteOptions)
		if !ok {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("expected DeleteOptions, got %T", obj))
		}
		opts = decoded
	}
	q := r.URL.Query()
	if v := q.Get("gracePeriodSeconds"); v != "" && opts.GracePeriodSeconds == nil {
		grace, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid gracePeriodSeconds %q", v))
		}
		opts.GracePeriodSeconds = &grace
	}
	if v := q.Get("propagationPolicy"); v != "" && opts.PropagationPolicy == nil {
		policy := metav1.DeletionPropagation(v)
		opts.PropagationPolicy = &policy
	}
	if v := q.Get("orphanDependents"); v != "" && orphanDependents(opts) == nil {
		setOrphanDependents(opts, v == "true" || v == "1")
	}
	if isDryRun(r) {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if opts.PropagationPolicy != nil {
		switch *opts.PropagationPolicy {
		case metav1.DeletePropagationBackground, metav1.DeletePropagationForeground, metav1.DeletePropagationOrphan:
		default:
			return nil, apierrors.NewBadRequest(fmt.Sprintf("propagationPolicy: Unsupported value: %q: supported values: \"Foreground\", \"Background\", \"Orphan\"", *opts.PropagationPolicy))
		}
		if orphanDependents(opts) != nil {
			return nil, apierrors.NewBadRequest("orphanDependents and propagationPolicy cannot both be set")
		}
	}
	return opts, nil
}

func (s *Server) serveDelete(w http.ResponseWriter, r *http.Request, req apiRequest) {
	opts, err := s.deleteOptionsFrom(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	result, err := s.deleteObject(r.Context(), req.res, req.namespace, req.name, opts)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	addWarnings(w, result.warnings)
	if !result.deleted || req.res.GracefulDelete != nil {
		// Still present (finalizers, grace period), or a kind that returns the deleted
		// object (pods).
		code := http.StatusOK
		if orphan := orphanDependents(opts); !result.deleted && orphan != nil && !*orphan {
			code = http.StatusAccepted
		}
		s.respondObject(w, r, req.res, code, result.obj)
		return
	}
	accessor, err := metaAccessor(result.obj)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeObject(w, r, http.StatusOK, &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusSuccess,
		Details: &metav1.StatusDetails{
			Name:  req.name,
			Group: req.res.gr.Group,
			Kind:  req.res.gr.Resource,
			UID:   accessor.GetUID(),
		},
	}, mediaJSON)
}

// serveDeleteCollection deletes every object matching the list options, one by one.
func (s *Server) serveDeleteCollection(w http.ResponseWriter, r *http.Request, req apiRequest) {
	opts, err := s.deleteOptionsFrom(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sel, err := parseSelectors(r, req.res)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	items, _, err := s.listAll(r.Context(), req.res, req.namespace, sel)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list := req.res.NewList()
	var deleted []runtime.Object
	for _, item := range items {
		accessor, err := metaAccessor(item)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		result, err := s.deleteObject(r.Context(), req.res, accessor.GetNamespace(), accessor.GetName(), opts)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		deleted = append(deleted, result.obj)
	}
	if err := setListItems(list, deleted); err != nil {
		s.writeError(w, r, err)
		return
	}
	list.GetObjectKind().SetGroupVersionKind(req.res.listGVK)
	s.writeObject(w, r, http.StatusOK, list, negotiate(r).mediaType)
}
