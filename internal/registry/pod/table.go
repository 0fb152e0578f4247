package pod

import (
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kjet-dev/kjet/internal/registry"
	"github.com/kjet-dev/kjet/internal/registry/printers"
)

// Table renders pods as kubectl get shows them.
type Table struct{}

var _ registry.TableConvertor = Table{}

// Columns implements registry.TableConvertor.
func (Table) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		printers.NameColumn(),
		printers.Column("Ready", "string", "The aggregate readiness state of this pod for accepting traffic.", 0),
		printers.Column("Status", "string", "The aggregate status of the containers in this pod.", 0),
		printers.Column("Restarts", "string", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.", 0),
		printers.AgeColumn(),
		printers.Column("IP", "string", "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.", 1),
		printers.Column("Node", "string", "NodeName is a request to schedule this pod onto a specific node.", 1),
		printers.Column("Nominated Node", "string", "nominatedNodeName is set when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods.", 1),
		printers.Column("Readiness Gates", "string", "If specified, all readiness gates will be evaluated for pod readiness.", 1),
	}
}

// Cells implements registry.TableConvertor.
func (Table) Cells(obj runtime.Object, now time.Time) ([]interface{}, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, fmt.Errorf("pod table: unexpected object %T", obj)
	}
	s := Summarize(pod)
	restarts := strconv.Itoa(s.Restarts)
	if s.Restarts != 0 && !s.LastRestart.IsZero() {
		restarts = fmt.Sprintf("%d (%s ago)", s.Restarts, printers.Since(s.LastRestart, now))
	}
	podIP := ""
	if len(pod.Status.PodIPs) > 0 {
		podIP = pod.Status.PodIPs[0].IP
	}
	readinessGates := printers.None
	if n := len(pod.Spec.ReadinessGates); n > 0 {
		trueConditions := 0
		for _, gate := range pod.Spec.ReadinessGates {
			for _, c := range pod.Status.Conditions {
				if c.Type == gate.ConditionType {
					if c.Status == corev1.ConditionTrue {
						trueConditions++
					}
					break
				}
			}
		}
		readinessGates = fmt.Sprintf("%d/%d", trueConditions, n)
	}
	return []interface{}{
		pod.Name,
		fmt.Sprintf("%d/%d", s.Ready, s.Total),
		s.Status,
		restarts,
		printers.Since(pod.CreationTimestamp, now),
		printers.OrNone(podIP),
		printers.OrNone(pod.Spec.NodeName),
		printers.OrNone(pod.Status.NominatedNodeName),
		readinessGates,
	}, nil
}

// Summary is what kubectl's pod columns show: ready and total containers, the STATUS
// word, the restart count and the time of the last restart.
type Summary struct {
	Ready, Total int
	Status       string
	Restarts     int
	LastRestart  metav1.Time
}

// nodeUnreachablePodReason is the status.reason of pods on a lost node.
const nodeUnreachablePodReason = "NodeLost"

// Summarize computes the kubectl pod summary (the STATUS algorithm of kubectl get pods).
func Summarize(pod *corev1.Pod) Summary {
	var s Summary
	s.Total = len(pod.Spec.Containers)
	restartableInitRestarts := 0
	var lastRestartableInitRestart metav1.Time

	reason := string(pod.Status.Phase)
	if pod.Status.Reason != "" {
		reason = pod.Status.Reason
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Reason == corev1.PodReasonSchedulingGated {
			reason = corev1.PodReasonSchedulingGated
		}
	}

	initContainers := make(map[string]*corev1.Container, len(pod.Spec.InitContainers))
	for i := range pod.Spec.InitContainers {
		initContainers[pod.Spec.InitContainers[i].Name] = &pod.Spec.InitContainers[i]
		if isSidecar(&pod.Spec.InitContainers[i]) {
			s.Total++
		}
	}

	initializing := false
	for i, cs := range pod.Status.InitContainerStatuses {
		s.Restarts += int(cs.RestartCount)
		if t := cs.LastTerminationState.Terminated; t != nil && s.LastRestart.Before(&t.FinishedAt) {
			s.LastRestart = t.FinishedAt
		}
		sidecar := isSidecar(initContainers[cs.Name])
		if sidecar {
			restartableInitRestarts += int(cs.RestartCount)
			if t := cs.LastTerminationState.Terminated; t != nil && lastRestartableInitRestart.Before(&t.FinishedAt) {
				lastRestartableInitRestart = t.FinishedAt
			}
		}
		switch {
		case cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0:
			continue
		case sidecar && cs.Started != nil && *cs.Started:
			if cs.Ready {
				s.Ready++
			}
			continue
		case cs.State.Terminated != nil:
			reason = "Init:" + terminatedReason(cs.State.Terminated)
		case cs.State.Waiting != nil && cs.State.Waiting.Reason != "" && cs.State.Waiting.Reason != "PodInitializing":
			reason = "Init:" + cs.State.Waiting.Reason
		default:
			reason = fmt.Sprintf("Init:%d/%d", i, len(pod.Spec.InitContainers))
		}
		initializing = true
		break
	}

	if !initializing || conditionTrue(pod, corev1.PodInitialized) {
		s.Restarts = restartableInitRestarts
		s.LastRestart = lastRestartableInitRestart
		hasRunning := false
		for i := len(pod.Status.ContainerStatuses) - 1; i >= 0; i-- {
			cs := pod.Status.ContainerStatuses[i]
			s.Restarts += int(cs.RestartCount)
			if t := cs.LastTerminationState.Terminated; t != nil && s.LastRestart.Before(&t.FinishedAt) {
				s.LastRestart = t.FinishedAt
			}
			switch {
			case cs.State.Waiting != nil && cs.State.Waiting.Reason != "":
				reason = cs.State.Waiting.Reason
			case cs.State.Terminated != nil:
				reason = terminatedReason(cs.State.Terminated)
			case cs.Ready && cs.State.Running != nil:
				hasRunning = true
				s.Ready++
			}
		}
		if reason == "Completed" && hasRunning {
			if conditionTrue(pod, corev1.PodReady) {
				reason = "Running"
			} else {
				reason = "NotReady"
			}
		}
	}

	if pod.DeletionTimestamp != nil && pod.Status.Reason == nodeUnreachablePodReason {
		reason = "Unknown"
	} else if pod.DeletionTimestamp != nil && !IsTerminal(pod) {
		reason = "Terminating"
	}
	s.Status = reason
	return s
}

// terminatedReason is the reason of a terminated container, or Signal:<n>/ExitCode:<n>.
func terminatedReason(t *corev1.ContainerStateTerminated) string {
	switch {
	case t.Reason != "":
		return t.Reason
	case t.Signal != 0:
		return fmt.Sprintf("Signal:%d", t.Signal)
	default:
		return fmt.Sprintf("ExitCode:%d", t.ExitCode)
	}
}

// isSidecar reports whether an init container is a restartable (sidecar) one.
func isSidecar(c *corev1.Container) bool {
	return c != nil && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

func conditionTrue(pod *corev1.Pod, t corev1.PodConditionType) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// IsTerminal reports whether the pod has reached phase Succeeded or Failed.
func IsTerminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}
