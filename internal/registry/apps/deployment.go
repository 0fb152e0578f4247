package apps

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	extensionsv1beta1 "k8s.io/api/extensions/v1beta1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/kjet-dev/kjet/internal/registry"
	"github.com/kjet-dev/kjet/internal/registry/pod"
	"github.com/kjet-dev/kjet/internal/registry/printers"
)

// Deployment defaults, as Kubernetes gives them.
const (
	DefaultRevisionHistoryLimit    int32 = 10
	DefaultProgressDeadlineSeconds int32 = 600
	// DefaultDeploymentMaxSurge and DefaultDeploymentMaxUnavailable are the rolling
	// update's limits when a RollingUpdate strategy names none.
	DefaultDeploymentMaxSurge       = "25%"
	DefaultDeploymentMaxUnavailable = "25%"
)

// SetDefaultsDeployment applies Kubernetes' defaults: replicas 1, strategy RollingUpdate
// with maxUnavailable and maxSurge 25%, revisionHistoryLimit 10,
// progressDeadlineSeconds 600, and the pod template's defaults.
func SetDefaultsDeployment(d *appsv1.Deployment) {
	spec := &d.Spec
	if spec.Replicas == nil {
		spec.Replicas = ptr.To(int32(1))
	}
	strategy := &spec.Strategy
	if strategy.Type == "" {
		strategy.Type = appsv1.RollingUpdateDeploymentStrategyType
	}
	if strategy.Type == appsv1.RollingUpdateDeploymentStrategyType {
		if strategy.RollingUpdate == nil {
			strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{}
		}
		if strategy.RollingUpdate.MaxUnavailable == nil {
			strategy.RollingUpdate.MaxUnavailable = ptr.To(intstr.FromString(DefaultDeploymentMaxUnavailable))
		}
		if strategy.RollingUpdate.MaxSurge == nil {
			strategy.RollingUpdate.MaxSurge = ptr.To(intstr.FromString(DefaultDeploymentMaxSurge))
		}
	}
	if spec.RevisionHistoryLimit == nil {
		spec.RevisionHistoryLimit = ptr.To(DefaultRevisionHistoryLimit)
	}
	if spec.ProgressDeadlineSeconds == nil {
		spec.ProgressDeadlineSeconds = ptr.To(DefaultProgressDeadlineSeconds)
	}
	pod.SetDefaultsPodSpec(&spec.Template.Spec)
}

// DeploymentStrategy returns the rules of deployments: defaults, a selector that matches
// the template and never changes, a valid rollout strategy. Generation counts changes
// of the spec and of the annotations (which Kubernetes copies to the ReplicaSets).
func DeploymentStrategy() registry.FuncStrategy[*appsv1.Deployment] {
	return registry.FuncStrategy[*appsv1.Deployment]{
		Namespaced:    true,
		Defaults:      SetDefaultsDeployment,
		PrepareCreate: func(d *appsv1.Deployment) { d.Status = appsv1.DeploymentStatus{} },
		PrepareUpdate: func(d, old *appsv1.Deployment) { d.Status = old.Status },
		Check:         validateDeploymentSpec,
		CheckUpdate: func(d, old *appsv1.Deployment) field.ErrorList {
			return apivalidation.ValidateImmutableField(d.Spec.Selector, old.Spec.Selector, field.NewPath("spec", "selector"))
		},
		GenerationChanged: func(d, old *appsv1.Deployment) bool {
			return !equality.Semantic.DeepEqual(d.Spec, old.Spec) || !equality.Semantic.DeepEqual(d.Annotations, old.Annotations)
		},
	}
}

func validateDeploymentSpec(d *appsv1.Deployment) field.ErrorList {
	spec := &d.Spec
	specPath := field.NewPath("spec")
	errs := validateOptionalNonnegative(spec.Replicas, specPath.Child("replicas"))
	errs = append(errs, validateReplicatedSpec(spec.Selector, &spec.Template, specPath)...)
	errs = append(errs, validateDeploymentStrategy(&spec.Strategy, specPath.Child("strategy"))...)
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(spec.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	errs = append(errs, validateOptionalNonnegative(spec.RevisionHistoryLimit, specPath.Child("revisionHistoryLimit"))...)
	if spec.ProgressDeadlineSeconds != nil {
		deadlinePath := specPath.Child("progressDeadlineSeconds")
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*spec.ProgressDeadlineSeconds), deadlinePath)...)
		if *spec.ProgressDeadlineSeconds <= spec.MinReadySeconds {
			errs = append(errs, field.Invalid(deadlinePath, *spec.ProgressDeadlineSeconds, "must be greater than minReadySeconds"))
		}
	}
	return errs
}

func validateDeploymentStrategy(strategy *appsv1.DeploymentStrategy, fldPath *field.Path) field.ErrorList {
	switch strategy.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if strategy.RollingUpdate != nil {
			return field.ErrorList{field.Forbidden(fldPath.Child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'")}
		}
		return nil
	case appsv1.RollingUpdateDeploymentStrategyType:
		ruPath := fldPath.Child("rollingUpdate")
		ru := strategy.RollingUpdate
		if ru == nil {
			return field.ErrorList{field.Required(ruPath, "this should be defaulted and never be nil")}
		}
		unavailablePath := ruPath.Child("maxUnavailable")
		errs := validatePositiveIntOrPercent(ru.MaxUnavailable, unavailablePath)
		errs = append(errs, validatePositiveIntOrPercent(ru.MaxSurge, ruPath.Child("maxSurge"))...)
		if intOrPercentValue(ru.MaxUnavailable) == 0 && intOrPercentValue(ru.MaxSurge) == 0 {
			errs = append(errs, field.Invalid(unavailablePath, intOrPercentOrNull(ru.MaxUnavailable), "may not be 0 when `maxSurge` is 0"))
		}
		return append(errs, validateNotMoreThan100Percent(ru.MaxUnavailable, unavailablePath)...)
	default:
		return field.ErrorList{field.NotSupported(fldPath, *strategy,
			[]string{string(appsv1.RecreateDeploymentStrategyType), string(appsv1.RollingUpdateDeploymentStrategyType)})}
	}
}

// intOrPercentOrNull is the value an error shows for an optional int-or-percent.
func intOrPercentOrNull(value *intstr.IntOrString) any {
	if value == nil {
		return nil
	}
	return *value
}

// DeploymentStatus returns the rules of deployments/status: counts not negative, and
// none beyond status.replicas.
func DeploymentStatus() registry.FuncStatusStrategy[*appsv1.Deployment] {
	return registry.FuncStatusStrategy[*appsv1.Deployment]{
		KeepSpec: func(d, old *appsv1.Deployment) { d.Spec = old.Spec },
		CheckStatus: func(d, old *appsv1.Deployment) field.ErrorList {
			p := field.NewPath("status")
			s := d.Status
			errs := apivalidation.ValidateNonnegativeField(s.ObservedGeneration, p.Child("observedGeneration"))
			errs = append(errs, registry.NonnegativeCounts(p,
				registry.Count{Name: "replicas", Value: s.Replicas}, registry.Count{Name: "updatedReplicas", Value: s.UpdatedReplicas},
				registry.Count{Name: "readyReplicas", Value: s.ReadyReplicas}, registry.Count{Name: "availableReplicas", Value: s.AvailableReplicas},
				registry.Count{Name: "unavailableReplicas", Value: s.UnavailableReplicas})...)
			errs = append(errs, validateOptionalNonnegative(s.CollisionCount, p.Child("collisionCount"))...)
			errs = append(errs, registry.ReplicaCountsWithin(p, s.Replicas, s.ReadyReplicas, s.AvailableReplicas,
				registry.Count{Name: "updatedReplicas", Value: s.UpdatedReplicas})...)
			return append(errs, validateCollisionCountNotDecremented(s.CollisionCount, old.Status.CollisionCount, p)...)
		},
	}
}

// validateCollisionCountNotDecremented rejects a status write that lowers collisionCount.
func validateCollisionCountNotDecremented(count, old *int32, statusPath *field.Path) field.ErrorList {
	if old == nil || (count != nil && *count >= *old) {
		return nil
	}
	return field.ErrorList{field.Invalid(statusPath.Child("collisionCount"), ptr.Deref(count, 0), "cannot be decremented")}
}

// DeploymentTable renders NAME READY UP-TO-DATE AVAILABLE AGE [CONTAINERS IMAGES SELECTOR].
type DeploymentTable struct{}

var _ registry.TableConvertor = DeploymentTable{}

// Columns implements registry.TableConvertor.
func (DeploymentTable) Columns() []metav1.TableColumnDefinition {
	status := extensionsv1beta1.DeploymentStatus{}.SwaggerDoc()
	return append([]metav1.TableColumnDefinition{
		printers.NameColumn(),
		printers.Column("Ready", "string", "Number of the pod with ready state", 0),
		printers.Column("Up-to-date", "string", status["updatedReplicas"], 0),
		printers.Column("Available", "string", status["availableReplicas"], 0),
		printers.AgeColumn(),
	}, printers.TemplateColumns(extensionsv1beta1.DeploymentSpec{}.SwaggerDoc()["selector"])...)
}

// Cells implements registry.TableConvertor.
func (DeploymentTable) Cells(obj runtime.Object, now time.Time) ([]interface{}, error) {
	d, ok := obj.(*appsv1.Deployment)
	if !ok {
		return nil, fmt.Errorf("deployment table: unexpected object %T", obj)
	}
	names, images := printers.ContainersAndImages(d.Spec.Template.Spec.Containers)
	return []interface{}{
		d.Name, fmt.Sprintf("%d/%d", d.Status.ReadyReplicas, desiredReplicas(d.Spec.Replicas)),
		int64(d.Status.UpdatedReplicas), int64(d.Status.AvailableReplicas),
		printers.Since(d.CreationTimestamp, now), names, images, selectorString(d.Spec.Selector),
	}, nil
}

// desiredReplicas is spec.replicas, 1 when unset (the default).
func desiredReplicas(replicas *int32) int32 {
	return ptr.Deref(replicas, 1)
}
