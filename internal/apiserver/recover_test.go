package apiserver

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kjet-dev/kjet/internal/registry"
)

// panickingStrategy fails every validation with a panic.
type panickingStrategy struct{ testStrategy }

func (panickingStrategy) Validate(ctx context.Context, obj runtime.Object) field.ErrorList {
	panic("validation exploded")
}

func TestPanicBecomesInternalError(t *testing.T) {
	e := newTestEnv(t, func(o *Options) {
		o.Resources = append(o.Resources, registry.Resource{
			GroupVersionResource: corev1.SchemeGroupVersion.WithResource("secrets"),
			Kind:                 "Secret", Namespaced: true,
			New:      func() runtime.Object { return &corev1.Secret{} },
			NewList:  func() runtime.Object { return &corev1.SecretList{} },
			Strategy: panickingStrategy{},
		})
	})
	st := e.mustDo(500, "POST", "/api/v1/namespaces/default/secrets", "application/json", `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"}}`).status(t)
	if st.Reason != "InternalError" || st.Kind != "Status" {
		t.Errorf("status = %+v", st)
	}
	// The server keeps serving.
	e.mustDo(200, "GET", "/api/v1/namespaces/default/secrets", "", "")
}
