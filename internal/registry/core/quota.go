package core

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kjet-dev/kjet/internal/registry"
	"github.com/kjet-dev/kjet/internal/registry/printers"
)

// ResourceQuotaStrategy stores ResourceQuotas. kjet enforces no quota; it serves them so
// that `kubectl describe namespace` can list them (and print "No resource quota." when
// there are none), and so that manifests carrying them apply.
func ResourceQuotaStrategy() registry.FuncStrategy[*corev1.ResourceQuota] {
	return registry.FuncStrategy[*corev1.ResourceQuota]{
		Namespaced: true,
		Check: func(q *corev1.ResourceQuota) field.ErrorList {
			return validateNonNegative(q.Spec.Hard, field.NewPath("spec", "hard"))
		},
	}
}

// LimitRangeStrategy stores LimitRanges (not enforced), for `kubectl describe namespace`.
func LimitRangeStrategy() registry.FuncStrategy[*corev1.LimitRange] {
	return registry.FuncStrategy[*corev1.LimitRange]{
		Namespaced: true,
		Check: func(l *corev1.LimitRange) field.ErrorList {
			var errs field.ErrorList
			for i, item := range l.Spec.Limits {
				path := field.NewPath("spec", "limits").Index(i)
				if item.Type == "" {
					errs = append(errs, field.Required(path.Child("type"), ""))
				}
				errs = append(errs, validateNonNegative(item.Max, path.Child("max"))...)
				errs = append(errs, validateNonNegative(item.Min, path.Child("min"))...)
				errs = append(errs, validateNonNegative(item.Default, path.Child("default"))...)
				errs = append(errs, validateNonNegative(item.DefaultRequest, path.Child("defaultRequest"))...)
			}
			return errs
		},
	}
}

// validateNonNegative checks that every quantity in list is >= 0, as Kubernetes does.
func validateNonNegative(list corev1.ResourceList, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for name, q := range list {
		if q.Cmp(resource.Quantity{}) < 0 {
			errs = append(errs, field.Invalid(path.Key(string(name)), q.String(), "must be greater than or equal to 0"))
		}
	}
	return errs
}

// ResourceQuotaTable prints NAME, AGE, REQUEST, LIMIT as kubectl shows quotas: each
// resource as "name: used/hard", limits.* resources under LIMIT.
type ResourceQuotaTable struct{}

var _ registry.TableConvertor = ResourceQuotaTable{}

// Columns implements registry.TableConvertor.
func (ResourceQuotaTable) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		printers.NameColumn(),
		printers.AgeColumn(),
		printers.Column("Request", "string", "Request represents a minimum amount of cpu/memory that a container may consume.", 0),
		printers.Column("Limit", "string", "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.", 0),
	}
}

// Cells implements registry.TableConvertor.
func (ResourceQuotaTable) Cells(obj runtime.Object, now time.Time) ([]interface{}, error) {
	q, ok := obj.(*corev1.ResourceQuota)
	if !ok {
		return nil, fmt.Errorf("resourcequota table: unexpected object %T", obj)
	}
	var requests, limits []string
	for _, name := range slices.Sorted(maps.Keys(q.Spec.Hard)) {
		hard := q.Spec.Hard[name]
		used := q.Status.Used[name]
		cell := fmt.Sprintf("%s: %s/%s", name, used.String(), hard.String())
		if strings.HasPrefix(string(name), "limits.") {
			limits = append(limits, cell)
		} else {
			requests = append(requests, cell)
		}
	}
	return []interface{}{q.Name, printers.Since(q.CreationTimestamp, now), strings.Join(requests, ", "), strings.Join(limits, ", ")}, nil
}

// LimitRangeTable prints NAME and CREATED AT, as kubectl does.
type LimitRangeTable struct{}

var _ registry.TableConvertor = LimitRangeTable{}

// Columns implements registry.TableConvertor.
func (LimitRangeTable) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		printers.NameColumn(),
		printers.Column("Created At", "date", "CreationTimestamp is a timestamp representing the server time when this object was created.", 0),
	}
}

// Cells implements registry.TableConvertor.
func (LimitRangeTable) Cells(obj runtime.Object, now time.Time) ([]interface{}, error) {
	l, ok := obj.(*corev1.LimitRange)
	if !ok {
		return nil, fmt.Errorf("limitrange table: unexpected object %T", obj)
	}
	return []interface{}{l.Name, l.CreationTimestamp.UTC().Format(time.RFC3339)}, nil
}
