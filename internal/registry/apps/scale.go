package apps

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kjet-dev/kjet/internal/registry"
)

// DeploymentScale returns the /scale accessors of deployments: spec.replicas (1 when
// unset), status.replicas and spec.selector.
func DeploymentScale() *registry.ScaleAccessors {
	return &registry.ScaleAccessors{
		Replicas:       func(obj runtime.Object) int32 { return desiredReplicas(as[*appsv1.Deployment](obj).Spec.Replicas) },
		SetReplicas:    func(obj runtime.Object, n int32) { as[*appsv1.Deployment](obj).Spec.Replicas = &n },
		StatusReplicas: func(obj runtime.Object) int32 { return as[*appsv1.Deployment](obj).Status.Replicas },
		Selector:       func(obj runtime.Object) string { return selectorString(as[*appsv1.Deployment](obj).Spec.Selector) },
	}
}

// ReplicaSetScale returns the /scale accessors of replicasets: spec.replicas (1 when
// unset), status.replicas and spec.selector.
func ReplicaSetScale() *registry.ScaleAccessors {
	return &registry.ScaleAccessors{
		Replicas:       func(obj runtime.Object) int32 { return desiredReplicas(as[*appsv1.ReplicaSet](obj).Spec.Replicas) },
		SetReplicas:    func(obj runtime.Object, n int32) { as[*appsv1.ReplicaSet](obj).Spec.Replicas = &n },
		StatusReplicas: func(obj runtime.Object) int32 { return as[*appsv1.ReplicaSet](obj).Status.Replicas },
		Selector:       func(obj runtime.Object) string { return selectorString(as[*appsv1.ReplicaSet](obj).Spec.Selector) },
	}
}

// as returns obj as the resource's own type; any other type is a wiring bug in the
// caller, so it panics (as the strategies do).
func as[T runtime.Object](obj runtime.Object) T {
	t, ok := obj.(T)
	if !ok {
		var zero T
		panic(fmt.Sprintf("scale of %T: unexpected object %T", zero, obj))
	}
	return t
}
