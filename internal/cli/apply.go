package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
)

// created is an object kjet run made, to follow and, on interrupt, to delete.
type created struct {
	obj      *unstructured.Unstructured
	resource dynamic.ResourceInterface
}

// errBadInput marks errors that are the user's input's fault (exit code 2).
var errBadInput = errors.New("bad input")

// applier creates the user's objects through the dynamic client.
type applier struct {
	dynamic   dynamic.Interface
	mapper    meta.RESTMapper
	namespace string
}

func (a *applier) resourceFor(obj *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := obj.GroupVersionKind()
	mapping, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("%w: resource mapping not found for kind %q in version %q: %v", errBadInput, gvk.Kind, gvk.GroupVersion(), err)
	}
	if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
		return a.dynamic.Resource(mapping.Resource), nil
	}
	if obj.GetNamespace() == "" {
		obj.SetNamespace(a.namespace)
	}
	return a.dynamic.Resource(mapping.Resource).Namespace(obj.GetNamespace()), nil
}

// createAll validates every object with a server-side dry run first, so that an invalid
// manifest creates nothing, then creates them in file order.
func (a *applier) createAll(ctx context.Context, manifests []manifest) ([]created, error) {
	resources := make([]dynamic.ResourceInterface, len(manifests))
	for i, m := range manifests {
		res, err := a.resourceFor(m.obj)
		if err != nil {
			return nil, err
		}
		resources[i] = res
		dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"}
		if _, err := res.Create(ctx, m.obj, dry); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, describeCreateError(m, err)
		}
	}
	var out []created
	for i, m := range manifests {
		obj, err := resources[i].Create(ctx, m.obj, metav1.CreateOptions{FieldManager: "kjet-run", FieldValidation: "Strict"})
		if err != nil {
			return out, describeCreateError(m, err)
		}
		out = append(out, created{obj: obj, resource: resources[i]})
	}
	return out, nil
}

// describeCreateError words an API error the way kubectl does, marking the user's
// mistakes (invalid, already exists, bad request) as bad input.
func describeCreateError(m manifest, err error) error {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return fmt.Errorf("error when creating %q: %w", m.source, err)
	}
	s := status.Status()
	switch s.Reason {
	case metav1.StatusReasonInvalid:
		return fmt.Errorf("%w: %s", errBadInput, invalidMessage(m.obj.GetKind(), m.obj.GetName(), s))
	case metav1.StatusReasonAlreadyExists, metav1.StatusReasonBadRequest, metav1.StatusReasonNotFound, metav1.StatusReasonForbidden:
		return fmt.Errorf("%w: Error from server (%s): error when creating %q: %s", errBadInput, s.Reason, m.source, s.Message)
	}
	return fmt.Errorf("error from server (%s): error when creating %q: %s", s.Reason, m.source, s.Message)
}

// invalidMessage renders an Invalid status as kubectl prints it:
// `The Job "x" is invalid: <cause>` or one `* <cause>` line per cause.
func invalidMessage(kind, name string, s metav1.Status) string {
	if s.Details == nil || len(s.Details.Causes) == 0 {
		return s.Message
	}
	causes := s.Details.Causes
	format := func(c metav1.StatusCause) string {
		if c.Field == "" {
			return c.Message
		}
		return c.Field + ": " + c.Message
	}
	if len(causes) == 1 {
		return fmt.Sprintf("The %s %q is invalid: %s", kind, name, format(causes[0]))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "The %s %q is invalid: ", kind, name)
	for _, c := range causes {
		b.WriteString("\n* " + format(c))
	}
	return b.String()
}
