// Package registry describes the resources kjet serves: for each one its names and scope
// (for discovery), how to make empty objects, and its Strategy (defaults, validation, the
// status/spec split, table columns, field-selector attributes). The HTTP layer in
// internal/apiserver is generic; everything that differs between resources lives here and
// in the per-resource sub-packages (job, cronjob, pod, core, ...).
//
// Objects are the versioned types of k8s.io/api (batchv1.Job, corev1.Pod, ...): kjet has no
// internal types and no conversions.
package registry

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Resource is everything the API server needs to serve one resource.
type Resource struct {
	// GroupVersion and Resource (plural, lower case), e.g. batch/v1 jobs.
	GroupVersionResource schema.GroupVersionResource
	// Kind, e.g. "Job"; ListKind is Kind+"List".
	Kind         string
	SingularName string
	ShortNames   []string
	Categories   []string
	Namespaced   bool
	// New returns an empty object of the resource's type; NewList an empty list.
	New     func() runtime.Object
	NewList func() runtime.Object
	// Strategy holds the resource's rules.
	Strategy Strategy
	// Status, when non-nil, serves the /status subresource with these rules.
	Status StatusStrategy
	// Table renders rows for kubectl get; nil means the default NAME/AGE columns.
	Table TableConvertor
	// DefaultPropagation is the delete propagation used when a request names none
	// (metav1.DeletePropagationBackground for most; Orphan for batch/v1 jobs).
	DefaultPropagation metav1.DeletionPropagation
	// DeleteWarning, if set, is sent as a Warning header when DefaultPropagation applies.
	DeleteWarning string
	// GracefulDelete, when non-nil, decides the grace period of a delete (pods): it
	// returns the grace seconds to use; 0 means delete at once.
	GracefulDelete func(obj runtime.Object, requested *int64) int64
	// Scale, when non-nil, serves the /scale subresource (autoscaling/v1 Scale).
	Scale *ScaleAccessors
}

// ScaleAccessors reach the parts of a scalable object that its autoscaling/v1 Scale shows:
// spec.replicas (Replicas, SetReplicas), status.replicas (StatusReplicas) and the label
// selector of its pods in string form (Selector, e.g. "app=web"; "" when it has none).
// Each function is given an object of the resource's own type.
type ScaleAccessors struct {
	Replicas       func(obj runtime.Object) int32
	SetReplicas    func(obj runtime.Object, n int32)
	StatusReplicas func(obj runtime.Object) int32
	Selector       func(obj runtime.Object) string
}

// Strategy is a resource's create/update rules. The API server calls, on create:
// fill system fields (uid, creationTimestamp, name from generateName, namespace,
// generation 1), PrepareForCreate, Validate; on update: PrepareForUpdate,
// ValidateUpdate, then bumps generation if the spec changed (see SpecChanged).
type Strategy interface {
	// PrepareForCreate sets defaults and clears what a client may not set (status).
	PrepareForCreate(ctx context.Context, obj runtime.Object)
	// Validate checks a new object; field paths and messages as Kubernetes gives them.
	Validate(ctx context.Context, obj runtime.Object) field.ErrorList
	// PrepareForUpdate sets defaults on obj and keeps the parts of old a spec write
	// may not change (status).
	PrepareForUpdate(ctx context.Context, obj, old runtime.Object)
	// ValidateUpdate checks obj against old (immutable fields, ...).
	ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList
	// SpecChanged reports whether an update changed what metadata.generation counts.
	SpecChanged(obj, old runtime.Object) bool
	// WarningsOnCreate returns Warning header texts for a create (may be nil).
	WarningsOnCreate(ctx context.Context, obj runtime.Object) []string
	// AttrsFunc returns the labels and the field-selector fields of obj (every resource
	// supports metadata.name and metadata.namespace; pods add spec.nodeName,
	// status.phase, ...; events add involvedObject.*).
	AttrsFunc(obj runtime.Object) (labels.Set, fields.Set, error)
}

// StatusStrategy is the rule set for the /status subresource: the new object's status is
// kept and everything else comes from old.
type StatusStrategy interface {
	PrepareForUpdate(ctx context.Context, obj, old runtime.Object)
	ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList
}

// TableConvertor renders kubectl's server-side columns.
type TableConvertor interface {
	// Columns are the column definitions (priority 1 = shown only with -o wide).
	Columns() []metav1.TableColumnDefinition
	// Cells returns one row's cells for obj, in Columns order, with ages relative to now.
	Cells(obj runtime.Object, now time.Time) ([]interface{}, error)
}
