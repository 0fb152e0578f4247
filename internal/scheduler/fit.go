package scheduler

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
	schedulinghelper "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"
)

// ResourceGPU is the extended resource name of NVIDIA GPUs.
const ResourceGPU corev1.ResourceName = "nvidia.com/gpu"

// Reasons a node does not fit a pod, worded as kube-scheduler words them.
const (
	reasonNotReady       = "node(s) were not ready"
	reasonUnschedulable  = "node(s) were unschedulable"
	reasonAffinity       = "node(s) didn't match Pod's node affinity/selector"
	reasonTooManyPods    = "Too many pods"
	reasonInsufficientFm = "Insufficient %s"
)

// nodeUsage is what the pods bound to one node already request.
type nodeUsage struct {
	requests corev1.ResourceList
	pods     int
}

func (u *nodeUsage) add(reqs corev1.ResourceList) {
	if u.requests == nil {
		u.requests = corev1.ResourceList{}
	}
	for name, q := range reqs {
		cur := u.requests[name]
		cur.Add(q)
		u.requests[name] = cur
	}
	u.pods++
}

// podRequests is the pod's effective request (init containers, sidecars and overhead
// taken into account the way the scheduler does).
// A limit without a request counts as the request, as API defaulting makes it.
func podRequests(pod *corev1.Pod) corev1.ResourceList {
	if needsRequestDefaults(pod) {
		pod = pod.DeepCopy()
		for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
			for i := range list {
				r := &list[i].Resources
				for name, q := range r.Limits {
					if _, ok := r.Requests[name]; !ok {
						if r.Requests == nil {
							r.Requests = corev1.ResourceList{}
						}
						r.Requests[name] = q
					}
				}
			}
		}
	}
	return resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
}

func needsRequestDefaults(pod *corev1.Pod) bool {
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range list {
			for name := range c.Resources.Limits {
				if _, ok := c.Resources.Requests[name]; !ok {
					return true
				}
			}
		}
	}
	return false
}

// nodeIsReady reports whether the node's Ready condition is True.
func nodeIsReady(node *corev1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// fits returns the reasons the pod does not fit the node; none means it fits.
func fits(pod *corev1.Pod, reqs corev1.ResourceList, node *corev1.Node, used nodeUsage) []string {
	if !nodeIsReady(node) {
		return []string{reasonNotReady}
	}
	if node.Spec.Unschedulable && !toleratesUnschedulable(pod) {
		return []string{reasonUnschedulable}
	}
	if ok, err := nodeaffinity.GetRequiredNodeAffinity(pod).Match(node); err != nil || !ok {
		return []string{reasonAffinity}
	}
	noScheduleOrExecute := func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
	}
	if taint, found := schedulinghelper.FindMatchingUntoleratedTaint(klog.Background(), node.Spec.Taints, pod.Spec.Tolerations, noScheduleOrExecute, false); found {
		return []string{fmt.Sprintf("node(s) had untolerated taint {%s: %s}", taint.Key, taint.Value)}
	}
	var reasons []string
	alloc := node.Status.Allocatable
	if podsAlloc, ok := alloc[corev1.ResourcePods]; ok && int64(used.pods+1) > podsAlloc.Value() {
		reasons = append(reasons, reasonTooManyPods)
	}
	names := make([]string, 0, len(reqs))
	for name := range reqs {
		names = append(names, string(name))
	}
	sort.Strings(names)
	for _, n := range names {
		name := corev1.ResourceName(n)
		want := reqs[name]
		if want.IsZero() || name == corev1.ResourcePods || name == corev1.ResourceEphemeralStorage {
			continue
		}
		have := alloc[name]
		free := have.DeepCopy()
		if u, ok := used.requests[name]; ok {
			free.Sub(u)
		}
		if free.Cmp(want) < 0 {
			reasons = append(reasons, fmt.Sprintf(reasonInsufficientFm, name))
		}
	}
	return reasons
}

// toleratesUnschedulable: pods tolerating node.kubernetes.io/unschedulable:NoSchedule
// may go to cordoned nodes, as in kube-scheduler's NodeUnschedulable plugin.
func toleratesUnschedulable(pod *corev1.Pod) bool {
	taint := &corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}
	return schedulinghelper.TolerationsTolerateTaint(klog.Background(), pod.Spec.Tolerations, taint, false)
}

// Defaults the scheduler scores unset requests with (kube-scheduler's non-zero defaults),
// so pods without requests still spread.
var (
	defaultCPURequest    = resource.MustParse("100m")
	defaultMemoryRequest = resource.MustParse("200Mi")
)

// leastAllocatedScore scores a fitting node 0..100: the mean free share of cpu and memory
// after placing the pod; higher is better.
func leastAllocatedScore(reqs corev1.ResourceList, node *corev1.Node, used nodeUsage) int64 {
	var total int64
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		alloc := node.Status.Allocatable[name]
		capacity := alloc.MilliValue()
		if capacity <= 0 {
			continue
		}
		want, ok := reqs[name]
		if !ok || want.IsZero() {
			if name == corev1.ResourceCPU {
				want = defaultCPURequest
			} else {
				want = defaultMemoryRequest
			}
		}
		u := used.requests[name]
		requested := u.MilliValue() + want.MilliValue()
		if requested > capacity {
			continue
		}
		total += (capacity - requested) * 100 / capacity
	}
	return total / 2
}

// unschedulableMessage formats the FailedScheduling message from each node's reasons:
// `0/3 nodes are available: 1 Insufficient cpu, 2 node(s) were unschedulable.`
func unschedulableMessage(nodes int, reasonsByNode [][]string) string {
	if nodes == 0 {
		return "no nodes available to schedule pods"
	}
	counts := map[string]int{}
	for _, rs := range reasonsByNode {
		for _, r := range rs {
			counts[r]++
		}
	}
	parts := make([]string, 0, len(counts))
	for r, n := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(parts)
	return fmt.Sprintf("0/%d nodes are available: %s.", nodes, strings.Join(parts, ", "))
}
