// Package apps holds the rules of the apps/v1 kinds kjet serves (ReplicaSets,
// Deployments, DaemonSets): defaults, validation (a selector that matches the template's
// labels and may not change, restartPolicy Always), the status subresource, the /scale
// accessors and kubectl's tables. kjet stores them; no controller acts on them yet.
package apps

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/kjet-dev/kjet/internal/registry"
	"github.com/kjet-dev/kjet/internal/registry/pod"
	"github.com/kjet-dev/kjet/internal/registry/printers"
)

// ReplicaSetStrategy returns the rules of replicasets.
func ReplicaSetStrategy() registry.FuncStrategy[*appsv1.ReplicaSet] {
	return registry.FuncStrategy[*appsv1.ReplicaSet]{
		Namespaced: true,
		Defaults: func(rs *appsv1.ReplicaSet) {
			if rs.Spec.Replicas == nil {
				rs.Spec.Replicas = ptr.To(int32(1))
			}
			pod.SetDefaultsPodSpec(&rs.Spec.Template.Spec)
		},
		PrepareCreate: func(rs *appsv1.ReplicaSet) { rs.Status = appsv1.ReplicaSetStatus{} },
		PrepareUpdate: func(rs, old *appsv1.ReplicaSet) { rs.Status = old.Status },
		Check:         validateReplicaSetSpec,
		CheckUpdate: func(rs, old *appsv1.ReplicaSet) field.ErrorList {
			return apivalidation.ValidateImmutableField(rs.Spec.Selector, old.Spec.Selector, field.NewPath("spec", "selector"))
		},
		GenerationChanged: func(rs, old *appsv1.ReplicaSet) bool {
			return !equality.Semantic.DeepEqual(rs.Spec, old.Spec)
		},
		Fields: func(rs *appsv1.ReplicaSet) fields.Set {
			return fields.Set{"status.replicas": fmt.Sprint(rs.Status.Replicas)}
		},
	}
}

func validateReplicaSetSpec(rs *appsv1.ReplicaSet) field.ErrorList {
	var errs field.ErrorList
	spec := &rs.Spec
	specPath := field.NewPath("spec")
	errs = append(errs, validateOptionalNonnegative(spec.Replicas, specPath.Child("replicas"))...)
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(spec.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	errs = append(errs, validateReplicatedSpec(spec.Selector, &spec.Template, specPath)...)
	return errs
}

// ReplicaSetStatus returns the rules of replicasets/status: counts may not be negative,
// none may exceed status.replicas, and no more may be available than ready.
func ReplicaSetStatus() registry.FuncStatusStrategy[*appsv1.ReplicaSet] {
	return registry.FuncStatusStrategy[*appsv1.ReplicaSet]{
		KeepSpec: func(rs, old *appsv1.ReplicaSet) { rs.Spec = old.Spec },
		CheckStatus: func(rs, _ *appsv1.ReplicaSet) field.ErrorList {
			s := rs.Status
			return registry.CheckReplicaSetCounts(field.NewPath("status"), registry.ReplicaSetCounts{
				Replicas: s.Replicas, FullyLabeledReplicas: s.FullyLabeledReplicas, ReadyReplicas: s.ReadyReplicas,
				AvailableReplicas: s.AvailableReplicas, ObservedGeneration: s.ObservedGeneration,
			})
		},
	}
}

// ReplicaSetTable renders NAME DESIRED CURRENT READY AGE [CONTAINERS IMAGES SELECTOR].
type ReplicaSetTable struct{}

var _ registry.TableConvertor = ReplicaSetTable{}

// Columns implements registry.TableConvertor.
func (ReplicaSetTable) Columns() []metav1.TableColumnDefinition {
	return append([]metav1.TableColumnDefinition{
		printers.NameColumn(),
		printers.Column("Desired", "integer", "Replicas is the number of desired replicas.", 0),
		printers.Column("Current", "integer", "Replicas is the most recently observed number of replicas.", 0),
		printers.Column("Ready", "integer", "The number of ready replicas for this replica set.", 0),
		printers.AgeColumn(),
	}, printers.TemplateColumns("Selector is a label query over pods that should match the replica count.")...)
}

// Cells implements registry.TableConvertor.
func (ReplicaSetTable) Cells(obj runtime.Object, now time.Time) ([]interface{}, error) {
	rs, ok := obj.(*appsv1.ReplicaSet)
	if !ok {
		return nil, fmt.Errorf("replicaset table: unexpected object %T", obj)
	}
	names, images := printers.ContainersAndImages(rs.Spec.Template.Spec.Containers)
	return []interface{}{
		rs.Name, int64(desiredReplicas(rs.Spec.Replicas)), int64(rs.Status.Replicas), int64(rs.Status.ReadyReplicas),
		printers.Since(rs.CreationTimestamp, now), names, images, printers.Selector(rs.Spec.Selector),
	}, nil
}
