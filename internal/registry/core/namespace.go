package core

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kjet-dev/kjet/internal/registry"
	"github.com/kjet-dev/kjet/internal/registry/printers"
)

// NamespaceNameLabel is the label Kubernetes puts on every namespace, holding its name.
const NamespaceNameLabel = "kubernetes.io/metadata.name"

// NamespaceStrategy returns the rules of namespaces: cluster-scoped, names are DNS
// labels, status.phase starts Active, the metadata.name label is kept in sync.
func NamespaceStrategy() registry.FuncStrategy[*corev1.Namespace] {
	return registry.FuncStrategy[*corev1.Namespace]{
		NameFn: apivalidation.NameIsDNSLabel,
		Defaults: func(ns *corev1.Namespace) {
			if ns.Labels == nil {
				ns.Labels = map[string]string{}
			}
			ns.Labels[NamespaceNameLabel] = ns.Name
		},
		PrepareCreate: func(ns *corev1.Namespace) {
			ns.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
		},
		PrepareUpdate: func(ns, old *corev1.Namespace) { ns.Status = old.Status },
		Fields: func(ns *corev1.Namespace) fields.Set {
			return fields.Set{"status.phase": string(ns.Status.Phase)}
		},
	}
}

// NamespaceStatus returns the rules of namespaces/status.
func NamespaceStatus() registry.FuncStatusStrategy[*corev1.Namespace] {
	return registry.FuncStatusStrategy[*corev1.Namespace]{
		KeepSpec: func(ns, old *corev1.Namespace) { ns.Spec = old.Spec },
		CheckStatus: func(ns, _ *corev1.Namespace) field.ErrorList {
			switch ns.Status.Phase {
			case corev1.NamespaceActive, corev1.NamespaceTerminating:
				return nil
			}
			return field.ErrorList{field.NotSupported(field.NewPath("status", "phase"), ns.Status.Phase,
				[]string{string(corev1.NamespaceActive), string(corev1.NamespaceTerminating)})}
		},
	}
}

// NamespaceTable renders NAME STATUS AGE.
type NamespaceTable struct{}

var _ registry.TableConvertor = NamespaceTable{}

// Columns implements registry.TableConvertor.
func (NamespaceTable) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		printers.NameColumn(),
		printers.Column("Status", "string", "The status of the namespace", 0),
		printers.AgeColumn(),
	}
}

// Cells implements registry.TableConvertor.
func (NamespaceTable) Cells(obj runtime.Object, now time.Time) ([]interface{}, error) {
	ns, ok := obj.(*corev1.Namespace)
	if !ok {
		return nil, fmt.Errorf("namespace table: unexpected object %T", obj)
	}
	return []interface{}{ns.Name, string(ns.Status.Phase), printers.Since(ns.CreationTimestamp, now)}, nil
}
