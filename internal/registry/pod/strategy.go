// Package pod holds the rules of core/v1 pods: defaults (SetDefaultsPodSpec, shared with
// Job, CronJob and ReplicaSet templates), validation (ValidatePodSpec,
// ValidatePodTemplateSpec), the create/update/status strategies, the graceful-delete
// period and kubectl's pod table.
package pod

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kjet-dev/kjet/internal/registry"
)

// Strategy is the create/update rule set of pods.
type Strategy struct{}

var _ registry.Strategy = Strategy{}

// StatusStrategy is the rule set of pods/status.
type StatusStrategy struct{}

var _ registry.StatusStrategy = StatusStrategy{}

// podUpdateForbiddenMessage is Kubernetes' text for a pod spec change it does not allow.
const podUpdateForbiddenMessage = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"

func asPod(obj runtime.Object) *corev1.Pod {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		panic(fmt.Sprintf("pod strategy: unexpected object %T", obj))
	}
	return pod
}

// PrepareForCreate applies defaults and what admission adds, and starts the pod Pending.
func (Strategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	pod := asPod(obj)
	SetDefaultsPodSpec(&pod.Spec)
	setDefaultsForNewPod(&pod.Spec)
	pod.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: QOSClass(&pod.Spec)}
}

// Validate checks a new pod.
func (Strategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	pod := asPod(obj)
	errs := registry.ValidateObjectMeta(&pod.ObjectMeta, true, apivalidation.NameIsDNSSubdomain)
	errs = append(errs, ValidatePodSpec(&pod.Spec, field.NewPath("spec"))...)
	return append(errs, validateImagesOnlyForPod(&pod.Spec, field.NewPath("spec"))...)
}

// PrepareForUpdate keeps the stored status and fills defaults a client may have left out.
func (Strategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	pod, oldPod := asPod(obj), asPod(old)
	pod.Status = oldPod.Status
	SetDefaultsPodSpec(&pod.Spec)
	if pod.Spec.EnableServiceLinks == nil {
		pod.Spec.EnableServiceLinks = oldPod.Spec.EnableServiceLinks
	}
	if pod.Spec.Priority == nil {
		pod.Spec.Priority = oldPod.Spec.Priority
	}
	if pod.Spec.PreemptionPolicy == nil {
		pod.Spec.PreemptionPolicy = oldPod.Spec.PreemptionPolicy
	}
	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = oldPod.Spec.ServiceAccountName
	}
	if pod.Spec.DeprecatedServiceAccount == "" {
		pod.Spec.DeprecatedServiceAccount = oldPod.Spec.DeprecatedServiceAccount
	}
}

// ValidateUpdate allows only image, activeDeadlineSeconds (add or lower), toleration
// additions, scheduling-gate removals and binding an unscheduled pod to a node.
func (Strategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	pod, oldPod := asPod(obj), asPod(old)
	errs := registry.ValidateObjectMetaUpdate(&pod.ObjectMeta, &oldPod.ObjectMeta)
	errs = append(errs, ValidatePodSpec(&pod.Spec, field.NewPath("spec"))...)
	return append(errs, validatePodSpecUpdate(&pod.Spec, &oldPod.Spec)...)
}

func validatePodSpecUpdate(spec, old *corev1.PodSpec) field.ErrorList {
	specPath := field.NewPath("spec")
	adsPath := specPath.Child("activeDeadlineSeconds")
	if spec.ActiveDeadlineSeconds != nil {
		v := *spec.ActiveDeadlineSeconds
		if v < 0 || v > math.MaxInt32 {
			return field.ErrorList{field.Invalid(adsPath, v, validation.InclusiveRangeError(0, math.MaxInt32))}
		}
		if old.ActiveDeadlineSeconds != nil && *old.ActiveDeadlineSeconds < v {
			return field.ErrorList{field.Invalid(adsPath, v, "must be less than or equal to previous value")}
		}
	} else if old.ActiveDeadlineSeconds != nil {
		return field.ErrorList{field.Invalid(adsPath, spec.ActiveDeadlineSeconds, "must not update from a positive integer to nil value")}
	}

	// Start from the old spec, take over what may change, and compare.
	mutable := old.DeepCopy()
	if len(spec.Containers) == len(mutable.Containers) {
		for i := range spec.Containers {
			mutable.Containers[i].Image = spec.Containers[i].Image
		}
	}
	if len(spec.InitContainers) == len(mutable.InitContainers) {
		for i := range spec.InitContainers {
			mutable.InitContainers[i].Image = spec.InitContainers[i].Image
		}
	}
	mutable.ActiveDeadlineSeconds = spec.ActiveDeadlineSeconds
	if isSuperset(spec.Tolerations, old.Tolerations) {
		mutable.Tolerations = spec.Tolerations
	}
	if old.NodeName == "" {
		mutable.NodeName = spec.NodeName
	}
	if isSubset(spec.SchedulingGates, old.SchedulingGates) {
		mutable.SchedulingGates = spec.SchedulingGates
	}
	if old.TerminationGracePeriodSeconds != nil && *old.TerminationGracePeriodSeconds < 0 &&
		spec.TerminationGracePeriodSeconds != nil && *spec.TerminationGracePeriodSeconds == 1 {
		mutable.TerminationGracePeriodSeconds = spec.TerminationGracePeriodSeconds
	}
	if !equality.Semantic.DeepEqual(mutable, spec) {
		return field.ErrorList{field.Forbidden(specPath, podUpdateForbiddenMessage)}
	}
	return nil
}

func isSuperset(newList, oldList []corev1.Toleration) bool {
	for _, o := range oldList {
		if !slices.ContainsFunc(newList, func(n corev1.Toleration) bool { return equality.Semantic.DeepEqual(n, o) }) {
			return false
		}
	}
	return true
}

func isSubset(newList, oldList []corev1.PodSchedulingGate) bool {
	for _, n := range newList {
		if !slices.Contains(oldList, n) {
			return false
		}
	}
	return true
}

// SpecChanged reports a spec change (pods count generation like other objects).
func (Strategy) SpecChanged(obj, old runtime.Object) bool {
	return !equality.Semantic.DeepEqual(asPod(obj).Spec, asPod(old).Spec)
}

// WarningsOnCreate implements registry.Strategy.
func (Strategy) WarningsOnCreate(context.Context, runtime.Object) []string { return nil }

// AttrsFunc returns the pod's labels and the fields kubectl and controllers select on.
func (Strategy) AttrsFunc(obj runtime.Object) (labels.Set, fields.Set, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, nil, fmt.Errorf("pod attrs: unexpected object %T", obj)
	}
	set := registry.ObjectMetaFieldsSet(&pod.ObjectMeta, true)
	set["spec.nodeName"] = pod.Spec.NodeName
	set["spec.restartPolicy"] = string(pod.Spec.RestartPolicy)
	set["spec.schedulerName"] = pod.Spec.SchedulerName
	set["spec.serviceAccountName"] = pod.Spec.ServiceAccountName
	set["spec.hostNetwork"] = strconv.FormatBool(pod.Spec.HostNetwork)
	set["status.phase"] = string(pod.Status.Phase)
	set["status.podIP"] = pod.Status.PodIP
	set["status.nominatedNodeName"] = pod.Status.NominatedNodeName
	return labels.Set(pod.Labels), set, nil
}

// PrepareForUpdate keeps the stored spec and metadata; only status changes.
func (StatusStrategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	pod, oldPod := asPod(obj), asPod(old)
	pod.Spec = oldPod.Spec
	metav1.ResetObjectMetaForStatus(&pod.ObjectMeta, &oldPod.ObjectMeta)
}

// ValidateUpdate checks a status write: a known phase, no way back from a terminal
// phase, non-negative restart counts.
func (StatusStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	pod, oldPod := asPod(obj), asPod(old)
	errs := registry.ValidateObjectMetaUpdate(&pod.ObjectMeta, &oldPod.ObjectMeta)
	statusPath := field.NewPath("status")
	switch pod.Status.Phase {
	case "", corev1.PodPending, corev1.PodRunning, corev1.PodSucceeded, corev1.PodFailed, corev1.PodUnknown:
	default:
		errs = append(errs, field.NotSupported(statusPath.Child("phase"), pod.Status.Phase,
			[]string{string(corev1.PodPending), string(corev1.PodRunning), string(corev1.PodSucceeded), string(corev1.PodFailed), string(corev1.PodUnknown)}))
	}
	if IsTerminal(oldPod) && pod.Status.Phase != oldPod.Status.Phase {
		errs = append(errs, field.Forbidden(statusPath.Child("phase"), fmt.Sprintf("cannot transition from terminal phase %s to %s", oldPod.Status.Phase, pod.Status.Phase)))
	}
	for _, list := range []struct {
		name     string
		statuses []corev1.ContainerStatus
	}{{"initContainerStatuses", pod.Status.InitContainerStatuses}, {"containerStatuses", pod.Status.ContainerStatuses}} {
		for i, cs := range list.statuses {
			errs = append(errs, apivalidation.ValidateNonnegativeField(int64(cs.RestartCount), statusPath.Child(list.name).Index(i).Child("restartCount"))...)
		}
	}
	return errs
}

// GracePeriod decides the grace period of a pod delete: 0 for a pod that never reached
// a node or is already terminal, else the requested grace (negative counts as 0), else
// spec.terminationGracePeriodSeconds (30 when unset; a negative value counts as 1).
func GracePeriod(obj runtime.Object, requested *int64) int64 {
	pod, ok := obj.(*corev1.Pod)
	if !ok || pod.Spec.NodeName == "" || IsTerminal(pod) {
		return 0
	}
	if requested != nil {
		return max(*requested, 0)
	}
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		if *g < 0 {
			return 1
		}
		return *g
	}
	return DefaultTerminationGracePeriodSeconds
}

// QOSClass computes the pod's quality-of-service class from its containers' resources.
func QOSClass(spec *corev1.PodSpec) corev1.PodQOSClass {
	containers := append(slices.Clone(spec.InitContainers), spec.Containers...)
	hasAny, guaranteed := false, true
	for _, c := range containers {
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, hasReq := c.Resources.Requests[name]
			lim, hasLim := c.Resources.Limits[name]
			if (hasReq && !req.IsZero()) || (hasLim && !lim.IsZero()) {
				hasAny = true
			}
			if !hasLim || lim.IsZero() || (hasReq && req.Cmp(lim) != 0) {
				guaranteed = false
			}
		}
	}
	switch {
	case !hasAny:
		return corev1.PodQOSBestEffort
	case guaranteed:
		return corev1.PodQOSGuaranteed
	default:
		return corev1.PodQOSBurstable
	}
}
