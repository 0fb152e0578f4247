package core

import (
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kjet-dev/kjet/internal/registry"
	"github.com/kjet-dev/kjet/internal/registry/printers"
)

// SecretStrategy returns the rules of secrets: type defaults to Opaque and may not
// change, stringData is merged into data, keys are valid, data at most 1 MiB, the keys
// the well-known types need are present, no changes once immutable.
func SecretStrategy() registry.FuncStrategy[*corev1.Secret] {
	return registry.FuncStrategy[*corev1.Secret]{
		Namespaced: true,
		Defaults: func(s *corev1.Secret) {
			if s.Type == "" {
				s.Type = corev1.SecretTypeOpaque
			}
			if len(s.StringData) > 0 {
				if s.Data == nil {
					s.Data = map[string][]byte{}
				}
				for k, v := range s.StringData {
					s.Data[k] = []byte(v)
				}
			}
			s.StringData = nil
		},
		Check: func(s *corev1.Secret) field.ErrorList {
			var errs field.ErrorList
			dataPath := field.NewPath("data")
			total := 0
			for _, key := range slices.Sorted(maps.Keys(s.Data)) {
				errs = append(errs, validateDataKey(key, dataPath.Key(key))...)
				total += len(s.Data[key])
			}
			if total > MaxDataSize {
				errs = append(errs, field.TooLong(dataPath, "", MaxDataSize))
			}
			required := map[corev1.SecretType][]string{
				corev1.SecretTypeDockerConfigJson: {corev1.DockerConfigJsonKey},
				corev1.SecretTypeDockercfg:        {corev1.DockerConfigKey},
				corev1.SecretTypeTLS:              {corev1.TLSCertKey, corev1.TLSPrivateKeyKey},
				corev1.SecretTypeSSHAuth:          {corev1.SSHAuthPrivateKey},
			}
			for _, key := range required[s.Type] {
				if _, ok := s.Data[key]; !ok {
					errs = append(errs, field.Required(dataPath.Key(key), ""))
				}
			}
			if s.Type == corev1.SecretTypeServiceAccountToken && s.Annotations[corev1.ServiceAccountNameKey] == "" {
				errs = append(errs, field.Required(field.NewPath("metadata", "annotations").Key(corev1.ServiceAccountNameKey), ""))
			}
			return errs
		},
		CheckUpdate: func(s, old *corev1.Secret) field.ErrorList {
			errs := apivalidation.ValidateImmutableField(s.Type, old.Type, field.NewPath("type"))
			if old.Immutable != nil && *old.Immutable {
				if s.Immutable == nil || !*s.Immutable {
					errs = append(errs, field.Forbidden(field.NewPath("immutable"), immutableDataMessage))
				}
				if !equality.Semantic.DeepEqual(s.Data, old.Data) {
					errs = append(errs, field.Forbidden(field.NewPath("data"), immutableDataMessage))
				}
			}
			return errs
		},
		Fields: func(s *corev1.Secret) fields.Set { return fields.Set{"type": string(s.Type)} },
	}
}

// SecretTable renders NAME TYPE DATA AGE.
type SecretTable struct{}

var _ registry.TableConvertor = SecretTable{}

// Columns implements registry.TableConvertor.
func (SecretTable) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		printers.NameColumn(),
		printers.Column("Type", "string", "The type of the secret", 0),
		printers.Column("Data", "string", "The number of entries in the secret", 0),
		printers.AgeColumn(),
	}
}

// Cells implements registry.TableConvertor.
func (SecretTable) Cells(obj runtime.Object, now time.Time) ([]interface{}, error) {
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return nil, fmt.Errorf("secret table: unexpected object %T", obj)
	}
	return []interface{}{s.Name, string(s.Type), int64(len(s.Data)), printers.Since(s.CreationTimestamp, now)}, nil
}

// ServiceAccountStrategy returns the rules of serviceaccounts (metadata only).
func ServiceAccountStrategy() registry.FuncStrategy[*corev1.ServiceAccount] {
	return registry.FuncStrategy[*corev1.ServiceAccount]{Namespaced: true}
}

// ServiceAccountTable renders NAME SECRETS AGE.
type ServiceAccountTable struct{}

var _ registry.TableConvertor = ServiceAccountTable{}

// Columns implements registry.TableConvertor.
func (ServiceAccountTable) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		printers.NameColumn(),
		printers.Column("Secrets", "string", "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.", 0),
		printers.AgeColumn(),
	}
}

// Cells implements registry.TableConvertor.
func (ServiceAccountTable) Cells(obj runtime.Object, now time.Time) ([]interface{}, error) {
	sa, ok := obj.(*corev1.ServiceAccount)
	if !ok {
		return nil, fmt.Errorf("serviceaccount table: unexpected object %T", obj)
	}
	return []interface{}{sa.Name, int64(len(sa.Secrets)), printers.Since(sa.CreationTimestamp, now)}, nil
}
