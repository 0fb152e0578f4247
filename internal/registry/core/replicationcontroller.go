package core

import (
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/kjet-dev/kjet/internal/registry"
	"github.com/kjet-dev/kjet/internal/registry/pod"
	"github.com/kjet-dev/kjet/internal/registry/printers"
)

// SetDefaultsReplicationController applies Kubernetes' defaults: an empty selector and
// empty object labels both become the template's labels, replicas is 1 when unset, and
// the pod template gets the pod spec defaults.
func SetDefaultsReplicationController(rc *corev1.ReplicationController) {
	if t := rc.Spec.Template; t != nil {
		if t.Labels != nil {
			if len(rc.Spec.Selector) == 0 {
				rc.Spec.Selector = maps.Clone(t.Labels)
			}
			if len(rc.Labels) == 0 {
				rc.Labels = maps.Clone(t.Labels)
			}
		}
		pod.SetDefaultsPodSpec(&t.Spec)
	}
	if rc.Spec.Replicas == nil {
		rc.Spec.Replicas = ptr.To(int32(1))
	}
}

// ReplicationControllerStrategy returns the rules of replicationcontrollers: defaults, a
// non-empty selector that matches the template's labels (unlike ReplicaSets it may
// change), pods that restart Always.
func ReplicationControllerStrategy() registry.FuncStrategy[*corev1.ReplicationController] {
	return registry.FuncStrategy[*corev1.ReplicationController]{
		Namespaced:    true,
		Defaults:      SetDefaultsReplicationController,
		PrepareCreate: func(rc *corev1.ReplicationController) { rc.Status = corev1.ReplicationControllerStatus{} },
		PrepareUpdate: func(rc, old *corev1.ReplicationController) { rc.Status = old.Status },
		Check:         validateReplicationControllerSpec,
		GenerationChanged: func(rc, old *corev1.ReplicationController) bool {
			return !equality.Semantic.DeepEqual(rc.Spec, old.Spec)
		},
		Fields: func(rc *corev1.ReplicationController) fields.Set {
			return fields.Set{"status.replicas": fmt.Sprint(rc.Status.Replicas)}
		},
	}
}

func validateReplicationControllerSpec(rc *corev1.ReplicationController) field.ErrorList {
	spec := &rc.Spec
	specPath := field.NewPath("spec")
	errs := apivalidation.ValidateNonnegativeField(int64(spec.MinReadySeconds), specPath.Child("minReadySeconds"))
	selector := labels.SelectorFromSet(spec.Selector)
	if selector.Empty() {
		errs = append(errs, field.Required(specPath.Child("selector"), ""))
	}
	if spec.Replicas != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*spec.Replicas), specPath.Child("replicas"))...)
	}
	templatePath := specPath.Child("template")
	template := spec.Template
	if template == nil {
		return append(errs, field.Required(templatePath, ""))
	}
	if !selector.Empty() && !selector.Matches(labels.Set(template.Labels)) {
		errs = append(errs, field.Invalid(templatePath.Child("metadata", "labels"), template.Labels, "`selector` does not match template `labels`"))
	}
	errs = append(errs, pod.ValidatePodTemplateSpec(template, templatePath)...)
	if rp := template.Spec.RestartPolicy; rp != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(templatePath.Child("spec", "restartPolicy"), rp, []string{string(corev1.RestartPolicyAlways)}))
	}
	if template.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(templatePath.Child("spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in ReplicationController is not Supported"))
	}
	return errs
}

// ReplicationControllerStatus returns the rules of replicationcontrollers/status: no
// negative counts, none beyond status.replicas, no more available than ready.
func ReplicationControllerStatus() registry.FuncStatusStrategy[*corev1.ReplicationController] {
	return registry.FuncStatusStrategy[*corev1.ReplicationController]{
		KeepSpec: func(rc, old *corev1.ReplicationController) { rc.Spec = old.Spec },
		CheckStatus: func(rc, _ *corev1.ReplicationController) field.ErrorList {
			s := rc.Status
			return registry.CheckReplicaSetCounts(field.NewPath("status"), registry.ReplicaSetCounts{
				Replicas: s.Replicas, FullyLabeledReplicas: s.FullyLabeledReplicas, ReadyReplicas: s.ReadyReplicas,
				AvailableReplicas: s.AvailableReplicas, ObservedGeneration: s.ObservedGeneration,
			})
		},
	}
}

// ReplicationControllerScale returns the /scale accessors of replicationcontrollers:
// spec.replicas (1 when unset), status.replicas and the selector ("app=web").
func ReplicationControllerScale() *registry.ScaleAccessors {
	rcOf := func(obj runtime.Object) *corev1.ReplicationController {
		rc, ok := obj.(*corev1.ReplicationController)
		if !ok {
			panic(fmt.Sprintf("scale of replicationcontrollers: unexpected object %T", obj))
		}
		return rc
	}
	return &registry.ScaleAccessors{
		Replicas:       func(obj runtime.Object) int32 { return ptr.Deref(rcOf(obj).Spec.Replicas, 1) },
		SetReplicas:    func(obj runtime.Object, n int32) { rcOf(obj).Spec.Replicas = &n },
		StatusReplicas: func(obj runtime.Object) int32 { return rcOf(obj).Status.Replicas },
		Selector:       func(obj runtime.Object) string { return labels.SelectorFromSet(rcOf(obj).Spec.Selector).String() },
	}
}

// ReplicationControllerTable renders NAME DESIRED CURRENT READY AGE [CONTAINERS IMAGES
// SELECTOR].
type ReplicationControllerTable struct{}

var _ registry.TableConvertor = ReplicationControllerTable{}

// Columns implements registry.TableConvertor.
func (ReplicationControllerTable) Columns() []metav1.TableColumnDefinition {
	spec := corev1.ReplicationControllerSpec{}.SwaggerDoc()
	status := corev1.ReplicationControllerStatus{}.SwaggerDoc()
	return append([]metav1.TableColumnDefinition{
		printers.NameColumn(),
		printers.Column("Desired", "integer", spec["replicas"], 0),
		printers.Column("Current", "integer", status["replicas"], 0),
		printers.Column("Ready", "integer", status["readyReplicas"], 0),
		printers.AgeColumn(),
	}, printers.TemplateColumns(spec["selector"])...)
}

// Cells implements registry.TableConvertor.
func (ReplicationControllerTable) Cells(obj runtime.Object, now time.Time) ([]interface{}, error) {
	rc, ok := obj.(*corev1.ReplicationController)
	if !ok {
		return nil, fmt.Errorf("replicationcontroller table: unexpected object %T", obj)
	}
	var containers []corev1.Container
	if rc.Spec.Template != nil {
		containers = rc.Spec.Template.Spec.Containers
	}
	names, images := printers.ContainersAndImages(containers)
	return []interface{}{
		rc.Name, int64(ptr.Deref(rc.Spec.Replicas, 1)), int64(rc.Status.Replicas), int64(rc.Status.ReadyReplicas),
		printers.Since(rc.CreationTimestamp, now), names, images, labels.FormatLabels(rc.Spec.Selector),
	}, nil
}
