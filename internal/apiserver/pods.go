package apiserver

import (
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// servePodSubresource serves pods/binding, eviction, log, exec, attach and portforward.
func (s *Server) servePodSubresource(w http.ResponseWriter, r *http.Request, req apiRequest) {
	switch req.subresource {
	case "binding":
		if r.Method != http.MethodPost {
			s.writeError(w, r, apierrors.NewMethodNotSupported(req.res.gr, r.Method))
			return
		}
		s.serveBinding(w, r, req)
	case "eviction":
		if r.Method != http.MethodPost {
			s.writeError(w, r, apierrors.NewMethodNotSupported(req.res.gr, r.Method))
			return
		}
		s.serveEviction(w, r, req)
	default:
		allowed := r.Method == http.MethodGet || (req.subresource != "log" && r.Method == http.MethodPost)
		if !allowed {
			s.writeError(w, r, apierrors.NewMethodNotSupported(req.res.gr, r.Method))
			return
		}
		obj, _, err := s.readObject(r.Context(), req.res, req.namespace, req.name)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			s.writeError(w, r, apierrors.NewInternalError(fmt.Errorf("pods resource holds %T", obj)))
			return
		}
		if s.opts.Pods == nil {
			s.writeError(w, r, apierrors.NewServiceUnavailable(fmt.Sprintf("pods/%s is not available: no node agent serves it", req.subresource)))
			return
		}
		s.opts.Pods.ServePodSubresource(w, r, pod, req.subresource)
	}
}

func successStatus(code int32) *metav1.Status {
	return &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusSuccess,
		Code:     code,
	}
}

// serveBinding assigns a pod to a node (what the scheduler does): spec.nodeName and a
// PodScheduled=True condition.
func (s *Server) serveBinding(w http.ResponseWriter, r *http.Request, req apiRequest) {
	body, err := readBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	decoded, err := s.codecs.decodeAny(body, requestMediaType(r), corev1.SchemeGroupVersion.WithKind("Binding"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	binding, ok := decoded.(*corev1.Binding)
	if !ok {
		s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("expected a Binding, got %T", decoded)))
		return
	}
	if binding.Name != "" && binding.Name != req.name {
		s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", binding.Name, req.name)))
		return
	}
	if binding.Target.Name == "" {
		s.writeError(w, r, apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Binding").GroupKind(), req.name, nil))
		return
	}
	node := binding.Target.Name
	_, err = s.updateObject(r.Context(), req.res, req.namespace, req.name, func(current runtime.Object) (runtime.Object, error) {
		pod := current.(*corev1.Pod)
		if pod.DeletionTimestamp != nil {
			return nil, apierrors.NewConflict(req.res.gr, req.name, fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", req.name))
		}
		if pod.Spec.NodeName != "" {
			return nil, apierrors.NewConflict(req.res.gr, req.name, fmt.Errorf("pod %v is already assigned to node %q", req.name, pod.Spec.NodeName))
		}
		if binding.UID != "" && binding.UID != pod.UID {
			//lint:ignore ST1005 Kubernetes' exact message.
			return nil, apierrors.NewConflict(req.res.gr, req.name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", binding.UID, pod.UID))
		}
		pod.Spec.NodeName = node
		for k, v := range binding.Annotations {
			if pod.Annotations == nil {
				pod.Annotations = map[string]string{}
			}
			pod.Annotations[k] = v
		}
		setPodCondition(&pod.Status, corev1.PodCondition{
			Type:               corev1.PodScheduled,
			Status:             corev1.ConditionTrue,
			LastTransitionTime: metav1.NewTime(s.clock.Now()),
		})
		pod.ResourceVersion = ""
		return pod, nil
	}, writeOptions{dryRun: isDryRun(r), manager: fieldManagerName(r), subresource: "binding", skipManagedFields: true, system: true})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeObject(w, r, http.StatusCreated, successStatus(http.StatusCreated), mediaJSON)
}

// serveEviction evicts a pod: a DisruptionTarget condition, then a delete with the
// eviction's options.
func (s *Server) serveEviction(w http.ResponseWriter, r *http.Request, req apiRequest) {
	body, err := readBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	decoded, err := s.codecs.decodeAny(body, requestMediaType(r), policyv1.SchemeGroupVersion.WithKind("Eviction"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	eviction, ok := decoded.(*policyv1.Eviction)
	if !ok {
		s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("expected an Eviction, got %T", decoded)))
		return
	}
	if eviction.Name != "" && eviction.Name != req.name {
		s.writeError(w, r, apierrors.NewBadRequest("name in URL does not match name in Eviction object"))
		return
	}
	opts := eviction.DeleteOptions
	if opts == nil {
		opts = &metav1.DeleteOptions{}
	}
	if isDryRun(r) {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	dryRun := isDryRun(r)
	current, _, err := s.readObject(r.Context(), req.res, req.namespace, req.name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	pod := current.(*corev1.Pod)
	terminal := pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
	if pod.DeletionTimestamp == nil && !terminal && !dryRun {
		_, err = s.updateObject(r.Context(), req.res, req.namespace, req.name, func(current runtime.Object) (runtime.Object, error) {
			pod := current.(*corev1.Pod)
			setPodCondition(&pod.Status, corev1.PodCondition{
				Type:               corev1.DisruptionTarget,
				Status:             corev1.ConditionTrue,
				Reason:             "EvictionByEvictionAPI",
				Message:            "Eviction API: evicting",
				LastTransitionTime: metav1.NewTime(s.clock.Now()),
			})
			pod.ResourceVersion = ""
			return pod, nil
		}, writeOptions{manager: fieldManagerName(r), subresource: "eviction", skipManagedFields: true, system: true})
		if err != nil && !apierrors.IsNotFound(err) {
			s.writeError(w, r, err)
			return
		}
	}
	if _, err := s.deleteObject(r.Context(), req.res, req.namespace, req.name, opts); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeObject(w, r, http.StatusCreated, successStatus(http.StatusCreated), mediaJSON)
}

// setPodCondition adds or replaces the condition of c's type, keeping the transition
// time when the status did not change.
func setPodCondition(status *corev1.PodStatus, c corev1.PodCondition) {
	for i := range status.Conditions {
		if status.Conditions[i].Type != c.Type {
			continue
		}
		if status.Conditions[i].Status == c.Status {
			c.LastTransitionTime = status.Conditions[i].LastTransitionTime
		}
		status.Conditions[i] = c
		return
	}
	status.Conditions = append(status.Conditions, c)
}
