package core

import (
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kjet-dev/kjet/internal/registry"
	"github.com/kjet-dev/kjet/internal/registry/printers"
)

// MaxDataSize is the total size limit of a ConfigMap's or Secret's data (1 MiB).
const MaxDataSize = 1024 * 1024

const immutableDataMessage = "field is immutable when `immutable` is set"

// ConfigMapStrategy returns the rules of configmaps: valid keys, unique across data and
// binaryData, at most 1 MiB, and no changes once immutable.
func ConfigMapStrategy() registry.FuncStrategy[*corev1.ConfigMap] {
	return registry.FuncStrategy[*corev1.ConfigMap]{
		Namespaced: true,
		Check: func(cm *corev1.ConfigMap) field.ErrorList {
			var errs field.ErrorList
			total := 0
			for _, key := range slices.Sorted(maps.Keys(cm.Data)) {
				errs = append(errs, validateDataKey(key, field.NewPath("data").Key(key))...)
				total += len(cm.Data[key])
			}
			for _, key := range slices.Sorted(maps.Keys(cm.BinaryData)) {
				value := cm.BinaryData[key]
				path := field.NewPath("binaryData").Key(key)
				errs = append(errs, validateDataKey(key, path)...)
				if _, dup := cm.Data[key]; dup {
					errs = append(errs, field.Invalid(path, key, "duplicate of key present in data"))
				}
				total += len(value)
			}
			if total > MaxDataSize {
				errs = append(errs, field.TooLong(field.NewPath(""), "", MaxDataSize))
			}
			return errs
		},
		CheckUpdate: func(cm, old *corev1.ConfigMap) field.ErrorList {
			if old.Immutable == nil || !*old.Immutable {
				return nil
			}
			var errs field.ErrorList
			if cm.Immutable == nil || !*cm.Immutable {
				errs = append(errs, field.Forbidden(field.NewPath("immutable"), immutableDataMessage))
			}
			if !equality.Semantic.DeepEqual(cm.Data, old.Data) {
				errs = append(errs, field.Forbidden(field.NewPath("data"), immutableDataMessage))
			}
			if !equality.Semantic.DeepEqual(cm.BinaryData, old.BinaryData) {
				errs = append(errs, field.Forbidden(field.NewPath("binaryData"), immutableDataMessage))
			}
			return errs
		},
	}
}

func validateDataKey(key string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsConfigMapKey(key) {
		errs = append(errs, field.Invalid(path, key, msg))
	}
	return errs
}

// ConfigMapTable renders NAME DATA AGE.
type ConfigMapTable struct{}

var _ registry.TableConvertor = ConfigMapTable{}

// Columns implements registry.TableConvertor.
func (ConfigMapTable) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		printers.NameColumn(),
		printers.Column("Data", "string", "Data contains the configuration data.", 0),
		printers.AgeColumn(),
	}
}

// Cells implements registry.TableConvertor.
func (ConfigMapTable) Cells(obj runtime.Object, now time.Time) ([]interface{}, error) {
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok {
		return nil, fmt.Errorf("configmap table: unexpected object %T", obj)
	}
	return []interface{}{cm.Name, int64(len(cm.Data) + len(cm.BinaryData)), printers.Since(cm.CreationTimestamp, now)}, nil
}
