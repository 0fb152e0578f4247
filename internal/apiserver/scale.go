package apiserver

import (
	"bytes"
	"fmt"
	"net/http"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

var scaleGVK = autoscalingv1.SchemeGroupVersion.WithKind("Scale")

func hasScale(res *resource) bool {
	return res.Scale != nil
}

// scaleOf renders obj, an object of res, as an autoscaling/v1 Scale through the
// registry's scale accessors.
func scaleOf(res *resource, obj runtime.Object) (*autoscalingv1.Scale, error) {
	if res.Scale == nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("%s has no scale", res.gr))
	}
	accessor, err := metaAccessor(obj)
	if err != nil {
		return nil, err
	}
	return &autoscalingv1.Scale{
		TypeMeta: metav1.TypeMeta{APIVersion: scaleGVK.GroupVersion().String(), Kind: scaleGVK.Kind},
		ObjectMeta: metav1.ObjectMeta{
			Name:              accessor.GetName(),
			Namespace:         accessor.GetNamespace(),
			UID:               accessor.GetUID(),
			ResourceVersion:   accessor.GetResourceVersion(),
			CreationTimestamp: accessor.GetCreationTimestamp(),
		},
		Spec:   autoscalingv1.ScaleSpec{Replicas: res.Scale.Replicas(obj)},
		Status: autoscalingv1.ScaleStatus{Replicas: res.Scale.StatusReplicas(obj), Selector: res.Scale.Selector(obj)},
	}, nil
}

// serveScale serves <resource>/scale: GET renders the Scale, PUT and PATCH change the
// parent's spec.replicas through its update rules (so generation bumps).
func (s *Server) serveScale(w http.ResponseWriter, r *http.Request, req apiRequest) {
	switch r.Method {
	case http.MethodGet:
		obj, _, err := s.readObject(r.Context(), req.res, req.namespace, req.name)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.writeScale(w, r, req.res, obj)
		return
	case http.MethodPut, http.MethodPatch:
	default:
		s.writeError(w, r, apierrors.NewMethodNotSupported(req.res.gr, r.Method))
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	mediaType := requestMediaType(r)
	o := writeOptions{dryRun: isDryRun(r), manager: fieldManagerName(r)}
	updated, err := s.updateObject(r.Context(), req.res, req.namespace, req.name, func(current runtime.Object) (runtime.Object, error) {
		old, err := scaleOf(req.res, current)
		if err != nil {
			return nil, err
		}
		var scale *autoscalingv1.Scale
		if r.Method == http.MethodPut {
			decoded, err := s.codecs.decodeAny(body, mediaType, scaleGVK)
			if err != nil {
				return nil, err
			}
			var ok bool
			if scale, ok = decoded.(*autoscalingv1.Scale); !ok {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("expected a Scale, got %T", decoded))
			}
		} else {
			if scale, err = s.patchScale(old, types.PatchType(mediaType), body); err != nil {
				return nil, err
			}
		}
		if scale.Name != "" && scale.Name != req.name {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", scale.Name, req.name))
		}
		if scale.Spec.Replicas < 0 {
			return nil, apierrors.NewInvalid(scaleGVK.GroupKind(), req.name, nil)
		}
		accessor, err := metaAccessor(current)
		if err != nil {
			return nil, err
		}
		if scale.ResourceVersion != "" && scale.ResourceVersion != old.ResourceVersion {
			return nil, conflictError(req.res, req.name)
		}
		accessor.SetResourceVersion("")
		req.res.Scale.SetReplicas(current, scale.Spec.Replicas)
		return current, nil
	}, o)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeScale(w, r, req.res, updated)
}

// writeScale answers with the Scale of obj, a resource of res.
func (s *Server) writeScale(w http.ResponseWriter, r *http.Request, res *resource, obj runtime.Object) {
	scale, err := scaleOf(res, obj)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeObject(w, r, http.StatusOK, scale, negotiate(r).mediaType)
}

// patchScale applies a JSON, merge or strategic patch to a Scale.
func (s *Server) patchScale(old *autoscalingv1.Scale, patchType types.PatchType, patch []byte) (*autoscalingv1.Scale, error) {
	var buf bytes.Buffer
	if err := s.codecs.json.Encode(old, &buf); err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	patched, err := patchJSON(buf.Bytes(), patchType, patch, &autoscalingv1.Scale{}, autoscalingv1.SchemeGroupVersion.WithResource("scales").GroupResource(), scaleGVK.GroupKind(), old.Name)
	if err != nil {
		return nil, err
	}
	decoded, err := s.codecs.decodeAny(patched, mediaJSON, scaleGVK)
	if err != nil {
		return nil, err
	}
	scale, ok := decoded.(*autoscalingv1.Scale)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("expected a Scale, got %T", decoded))
	}
	return scale, nil
}
