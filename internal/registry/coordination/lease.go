// Package coordination holds the rules of coordination.k8s.io/v1 Leases (node heartbeats
// in kube-node-lease, leader election): validation and kubectl's lease table.
package coordination

import (
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kjet-dev/kjet/internal/registry"
	"github.com/kjet-dev/kjet/internal/registry/printers"
)

// LeaseStrategy returns the rules of leases: leaseDurationSeconds > 0 and
// leaseTransitions >= 0 when set.
func LeaseStrategy() registry.FuncStrategy[*coordinationv1.Lease] {
	return registry.FuncStrategy[*coordinationv1.Lease]{
		Namespaced: true,
		Check: func(l *coordinationv1.Lease) field.ErrorList {
			var errs field.ErrorList
			specPath := field.NewPath("spec")
			if d := l.Spec.LeaseDurationSeconds; d != nil && *d <= 0 {
				errs = append(errs, field.Invalid(specPath.Child("leaseDurationSeconds"), *d, "must be greater than 0"))
			}
			if t := l.Spec.LeaseTransitions; t != nil {
				errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*t), specPath.Child("leaseTransitions"))...)
			}
			return errs
		},
	}
}

// LeaseTable renders NAME HOLDER AGE.
type LeaseTable struct{}

var _ registry.TableConvertor = LeaseTable{}

// Columns implements registry.TableConvertor.
func (LeaseTable) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		printers.NameColumn(),
		printers.Column("Holder", "string", "holderIdentity contains the identity of the holder of a current lease.", 0),
		printers.AgeColumn(),
	}
}

// Cells implements registry.TableConvertor.
func (LeaseTable) Cells(obj runtime.Object, now time.Time) ([]interface{}, error) {
	l, ok := obj.(*coordinationv1.Lease)
	if !ok {
		return nil, fmt.Errorf("lease table: unexpected object %T", obj)
	}
	holder := ""
	if l.Spec.HolderIdentity != nil {
		holder = *l.Spec.HolderIdentity
	}
	return []interface{}{l.Name, holder, printers.Since(l.CreationTimestamp, now)}, nil
}
