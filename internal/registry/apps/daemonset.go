package apps

import (
	"fmt"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	extensionsv1beta1 "k8s.io/api/extensions/v1beta1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/kjet-dev/kjet/internal/registry"
	"github.com/kjet-dev/kjet/internal/registry/pod"
	"github.com/kjet-dev/kjet/internal/registry/printers"
)

// SetDefaultsDaemonSet applies Kubernetes' defaults: updateStrategy RollingUpdate with
// maxUnavailable 1 and maxSurge 0, revisionHistoryLimit 10, and the pod template's
// defaults.
func SetDefaultsDaemonSet(ds *appsv1.DaemonSet) {
	strategy := &ds.Spec.UpdateStrategy
	if strategy.Type == "" {
		strategy.Type = appsv1.RollingUpdateDaemonSetStrategyType
	}
	if strategy.Type == appsv1.RollingUpdateDaemonSetStrategyType {
		if strategy.RollingUpdate == nil {
			strategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{}
		}
		if strategy.RollingUpdate.MaxUnavailable == nil {
			strategy.RollingUpdate.MaxUnavailable = ptr.To(intstr.FromInt32(1))
		}
		if strategy.RollingUpdate.MaxSurge == nil {
			strategy.RollingUpdate.MaxSurge = ptr.To(intstr.FromInt32(0))
		}
	}
	if ds.Spec.RevisionHistoryLimit == nil {
		ds.Spec.RevisionHistoryLimit = ptr.To(DefaultRevisionHistoryLimit)
	}
	pod.SetDefaultsPodSpec(&ds.Spec.Template.Spec)
}

// DaemonSetStrategy returns the rules of daemonsets: defaults, a selector that matches the
// template and never changes, a valid update strategy. Like Kubernetes, kjet counts
// template changes in the deprecated.daemonset.template.generation annotation (1 on
// create, one more on each update that changes the template); the server keeps it, a
// client's value on update is ignored.
func DaemonSetStrategy() registry.FuncStrategy[*appsv1.DaemonSet] {
	return registry.FuncStrategy[*appsv1.DaemonSet]{
		Namespaced: true,
		Defaults:   SetDefaultsDaemonSet,
		PrepareCreate: func(ds *appsv1.DaemonSet) {
			ds.Status = appsv1.DaemonSetStatus{}
			setTemplateGeneration(ds, max(templateGeneration(ds), 1))
		},
		PrepareUpdate: func(ds, old *appsv1.DaemonSet) {
			ds.Status = old.Status
			generation := templateGeneration(old)
			if !equality.Semantic.DeepEqual(ds.Spec.Template, old.Spec.Template) {
				generation++
			}
			setTemplateGeneration(ds, generation)
		},
		Check: validateDaemonSetSpec,
		CheckUpdate: func(ds, old *appsv1.DaemonSet) field.ErrorList {
			return apivalidation.ValidateImmutableField(ds.Spec.Selector, old.Spec.Selector, field.NewPath("spec", "selector"))
		},
		GenerationChanged: func(ds, old *appsv1.DaemonSet) bool {
			return !equality.Semantic.DeepEqual(ds.Spec, old.Spec)
		},
	}
}

// templateGeneration reads the deprecated.daemonset.template.generation annotation (0
// when missing or not a number).
func templateGeneration(ds *appsv1.DaemonSet) int64 {
	n, err := strconv.ParseInt(ds.Annotations[appsv1.DeprecatedTemplateGeneration], 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func setTemplateGeneration(ds *appsv1.DaemonSet, generation int64) {
	if ds.Annotations == nil {
		ds.Annotations = map[string]string{}
	}
	ds.Annotations[appsv1.DeprecatedTemplateGeneration] = strconv.FormatInt(generation, 10)
}

func validateDaemonSetSpec(ds *appsv1.DaemonSet) field.ErrorList {
	spec := &ds.Spec
	specPath := field.NewPath("spec")
	selPath := specPath.Child("selector")
	errs := metav1validation.ValidateLabelSelector(spec.Selector, metav1validation.LabelSelectorValidationOptions{}, selPath)
	if sel, err := metav1.LabelSelectorAsSelector(spec.Selector); err == nil && !sel.Matches(labels.Set(spec.Template.Labels)) {
		errs = append(errs, field.Invalid(specPath.Child("template", "metadata", "labels"), spec.Template.Labels, doesNotMatchMessage))
	}
	if spec.Selector != nil && len(spec.Selector.MatchLabels)+len(spec.Selector.MatchExpressions) == 0 {
		errs = append(errs, field.Invalid(selPath, spec.Selector, "empty selector is invalid for daemonset"))
	}
	errs = append(errs, validateTemplateRestarts(&spec.Template, specPath.Child("template"), "DaemonSet")...)
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(spec.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	errs = append(errs, validateDaemonSetUpdateStrategy(&spec.UpdateStrategy, specPath.Child("updateStrategy"))...)
	errs = append(errs, validateOptionalNonnegative(spec.RevisionHistoryLimit, specPath.Child("revisionHistoryLimit"))...)
	return errs
}

func validateDaemonSetUpdateStrategy(strategy *appsv1.DaemonSetUpdateStrategy, fldPath *field.Path) field.ErrorList {
	switch strategy.Type {
	case appsv1.OnDeleteDaemonSetStrategyType:
		return nil
	case appsv1.RollingUpdateDaemonSetStrategyType:
		ruPath := fldPath.Child("rollingUpdate")
		ru := strategy.RollingUpdate
		if ru == nil {
			return field.ErrorList{field.Required(ruPath, "")}
		}
		unavailablePath, surgePath := ruPath.Child("maxUnavailable"), ruPath.Child("maxSurge")
		errs := validatePositiveIntOrPercent(ru.MaxUnavailable, unavailablePath)
		errs = append(errs, validatePositiveIntOrPercent(ru.MaxSurge, surgePath)...)
		errs = append(errs, validateNotMoreThan100Percent(ru.MaxUnavailable, unavailablePath)...)
		errs = append(errs, validateNotMoreThan100Percent(ru.MaxSurge, surgePath)...)
		hasUnavailable, hasSurge := intOrPercentValue(ru.MaxUnavailable) != 0, intOrPercentValue(ru.MaxSurge) != 0
		switch {
		case hasUnavailable && hasSurge:
			errs = append(errs, field.Invalid(surgePath, intOrPercentOrNull(ru.MaxSurge), "may not be set when maxUnavailable is non-zero"))
		case !hasUnavailable && !hasSurge:
			errs = append(errs, field.Required(unavailablePath, "cannot be 0 when maxSurge is 0"))
		}
		return errs
	default:
		return field.ErrorList{field.NotSupported(fldPath, *strategy,
			[]string{string(appsv1.RollingUpdateDaemonSetStrategyType), string(appsv1.OnDeleteDaemonSetStrategyType)})}
	}
}

// DaemonSetStatus returns the rules of daemonsets/status: no negative counts, and
// collisionCount never goes down.
func DaemonSetStatus() registry.FuncStatusStrategy[*appsv1.DaemonSet] {
	return registry.FuncStatusStrategy[*appsv1.DaemonSet]{
		KeepSpec: func(ds, old *appsv1.DaemonSet) { ds.Spec = old.Spec },
		CheckStatus: func(ds, old *appsv1.DaemonSet) field.ErrorList {
			p := field.NewPath("status")
			s := ds.Status
			errs := registry.NonnegativeCounts(p,
				registry.Count{Name: "currentNumberScheduled", Value: s.CurrentNumberScheduled}, registry.Count{Name: "numberMisscheduled", Value: s.NumberMisscheduled},
				registry.Count{Name: "desiredNumberScheduled", Value: s.DesiredNumberScheduled}, registry.Count{Name: "numberReady", Value: s.NumberReady})
			errs = append(errs, apivalidation.ValidateNonnegativeField(s.ObservedGeneration, p.Child("observedGeneration"))...)
			errs = append(errs, registry.NonnegativeCounts(p,
				registry.Count{Name: "updatedNumberScheduled", Value: s.UpdatedNumberScheduled}, registry.Count{Name: "numberAvailable", Value: s.NumberAvailable},
				registry.Count{Name: "numberUnavailable", Value: s.NumberUnavailable})...)
			errs = append(errs, validateOptionalNonnegative(s.CollisionCount, p.Child("collisionCount"))...)
			return append(errs, validateCollisionCountNotDecremented(s.CollisionCount, old.Status.CollisionCount, p)...)
		},
	}
}

// DaemonSetTable renders NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR
// AGE [CONTAINERS IMAGES SELECTOR].
type DaemonSetTable struct{}

var _ registry.TableConvertor = DaemonSetTable{}

// Columns implements registry.TableConvertor.
func (DaemonSetTable) Columns() []metav1.TableColumnDefinition {
	status := extensionsv1beta1.DaemonSetStatus{}.SwaggerDoc()
	return append([]metav1.TableColumnDefinition{
		printers.NameColumn(),
		printers.Column("Desired", "integer", status["desiredNumberScheduled"], 0),
		printers.Column("Current", "integer", status["currentNumberScheduled"], 0),
		printers.Column("Ready", "integer", status["numberReady"], 0),
		printers.Column("Up-to-date", "integer", status["updatedNumberScheduled"], 0),
		printers.Column("Available", "integer", status["numberAvailable"], 0),
		printers.Column("Node Selector", "string", corev1.PodSpec{}.SwaggerDoc()["nodeSelector"], 0),
		printers.AgeColumn(),
	}, printers.TemplateColumns(extensionsv1beta1.DaemonSetSpec{}.SwaggerDoc()["selector"])...)
}

// Cells implements registry.TableConvertor.
func (DaemonSetTable) Cells(obj runtime.Object, now time.Time) ([]interface{}, error) {
	ds, ok := obj.(*appsv1.DaemonSet)
	if !ok {
		return nil, fmt.Errorf("daemonset table: unexpected object %T", obj)
	}
	s := ds.Status
	names, images := printers.ContainersAndImages(ds.Spec.Template.Spec.Containers)
	return []interface{}{
		ds.Name, int64(s.DesiredNumberScheduled), int64(s.CurrentNumberScheduled), int64(s.NumberReady),
		int64(s.UpdatedNumberScheduled), int64(s.NumberAvailable), labels.FormatLabels(ds.Spec.Template.Spec.NodeSelector),
		printers.Since(ds.CreationTimestamp, now), names, images, selectorString(ds.Spec.Selector),
	}, nil
}
