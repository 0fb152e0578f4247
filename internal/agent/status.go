package agent

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kjet-dev/kjet/internal/runtime"
)

// statusInput is everything pod status is computed from.
type statusInput struct {
	now                              time.Time
	recs                             map[string]*containerRecord
	ready, started                   map[string]bool
	sandboxed, initialized, terminal bool
	// phase, reason and message are fixed once terminal.
	phase           corev1.PodPhase
	reason, message string
	startTime       time.Time
}

func (w *podWorker) statusInput(pod *corev1.Pod) statusInput {
	in := statusInput{
		now: w.a.clock.Now(), recs: w.recs, ready: map[string]bool{}, started: map[string]bool{},
		sandboxed: w.sandboxed, initialized: w.initialized, terminal: w.terminal,
		phase: w.phase, reason: w.reason, message: w.message, startTime: w.startTime,
	}
	for name, rec := range w.recs {
		in.ready[name] = w.isReady(rec)
		in.started[name] = w.isStarted(rec)
	}
	return in
}

// podPhase applies spec §6.1 to a pod that is not terminal yet.
func podPhase(pod *corev1.Pod, in statusInput) corev1.PodPhase {
	if in.terminal {
		return in.phase
	}
	if !in.initialized {
		return corev1.PodPending
	}
	var waiting, running, exited, succeeded int
	for _, c := range pod.Spec.Containers {
		rec := in.recs[c.Name]
		switch {
		case rec == nil || rec.cur == nil:
			waiting++
		case rec.running():
			running++
		default:
			exited++
			if rec.cur.ExitCode == 0 {
				succeeded++
			}
		}
	}
	switch {
	case waiting > 0:
		return corev1.PodPending
	case running > 0:
		return corev1.PodRunning
	case pod.Spec.RestartPolicy == corev1.RestartPolicyAlways:
		return corev1.PodRunning
	case exited == succeeded:
		return corev1.PodSucceeded
	case pod.Spec.RestartPolicy == corev1.RestartPolicyNever:
		return corev1.PodFailed
	}
	return corev1.PodRunning
}

// buildPodStatus computes the status the agent reports for the pod.
func buildPodStatus(pod *corev1.Pod, in statusInput) corev1.PodStatus {
	st := corev1.PodStatus{
		ObservedGeneration: pod.Generation,
		Phase:              podPhase(pod, in),
		Reason:             in.reason,
		Message:            in.message,
		HostIP:             podIP,
		HostIPs:            []corev1.HostIP{{IP: podIP}},
		PodIP:              podIP,
		PodIPs:             []corev1.PodIP{{IP: podIP}},
		QOSClass:           pod.Status.QOSClass,
	}
	if st.QOSClass == "" {
		st.QOSClass = qosClass(pod)
	}
	if !in.startTime.IsZero() {
		t := apiTime(in.startTime)
		st.StartTime = &t
	}
	for _, c := range pod.Spec.InitContainers {
		st.InitContainerStatuses = append(st.InitContainerStatuses, containerStatus(pod, &c, in, true))
	}
	for _, c := range pod.Spec.Containers {
		st.ContainerStatuses = append(st.ContainerStatuses, containerStatus(pod, &c, in, false))
	}
	st.Conditions = podConditions(pod, in, st)
	return st
}

func containerStatus(pod *corev1.Pod, c *corev1.Container, in statusInput, isInit bool) corev1.ContainerStatus {
	rec := in.recs[c.Name]
	cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, ImageID: "", Started: new(bool)}
	if rec == nil || rec.cur == nil {
		reason, msg := "ContainerCreating", ""
		if !in.initialized {
			reason = "PodInitializing"
		}
		if rec != nil && rec.waitReason != "" {
			reason, msg = rec.waitReason, rec.waitMessage
		}
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: reason, Message: msg}
		return cs
	}
	cs.RestartCount = int32(rec.attempt)
	switch {
	case rec.running():
		cs.ContainerID = containerIDPrefix + rec.cur.ID
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: apiTime(rec.cur.StartedAt)}
		cs.Ready = in.ready[c.Name]
		*cs.Started = in.started[c.Name]
		if rec.prev != nil {
			cs.LastTerminationState.Terminated = terminatedState(rec.prev)
		}
	case !in.terminal && !rec.restartAt.IsZero() && in.now.Before(rec.restartAt):
		cs.State.Waiting = &corev1.ContainerStateWaiting{
			Reason:  "CrashLoopBackOff",
			Message: crashLoopMessage(rec.backoffFor, c.Name, pod.Name, pod.Namespace, pod.UID),
		}
		cs.LastTerminationState.Terminated = terminatedState(rec.cur)
	case rec.waitReason != "":
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: rec.waitReason, Message: rec.waitMessage}
		cs.LastTerminationState.Terminated = terminatedState(rec.cur)
	default:
		cs.ContainerID = containerIDPrefix + rec.cur.ID
		cs.State.Terminated = terminatedState(rec.cur)
		if rec.prev != nil {
			cs.LastTerminationState.Terminated = terminatedState(rec.prev)
		}
	}
	return cs
}

// apiTime is t at the precision the API keeps (whole seconds, in JSON and protobuf
// alike). A status built with finer times never equals the pod read back, so every
// write would be followed by a second, empty one when the agent sees its own update.
func apiTime(t time.Time) metav1.Time {
	return metav1.NewTime(t.Truncate(time.Second))
}

func terminatedState(s *runtime.ContainerStatus) *corev1.ContainerStateTerminated {
	reason := s.Reason
	if reason == "" {
		reason = "Completed"
		if s.ExitCode != 0 {
			reason = "Error"
		}
	}
	return &corev1.ContainerStateTerminated{
		ExitCode:    int32(s.ExitCode),
		Signal:      int32(s.Signal),
		Reason:      reason,
		Message:     s.Message,
		StartedAt:   apiTime(s.StartedAt),
		FinishedAt:  apiTime(s.FinishedAt),
		ContainerID: containerIDPrefix + s.ID,
	}
}

// podConditions computes the agent's conditions and keeps the others (PodScheduled,
// DisruptionTarget, …) as they are.
func podConditions(pod *corev1.Pod, in statusInput, st corev1.PodStatus) []corev1.PodCondition {
	terminal := st.Phase == corev1.PodSucceeded || st.Phase == corev1.PodFailed
	var notReady, notInit []string
	for _, cs := range st.InitContainerStatuses {
		rec := in.recs[cs.Name]
		if rec != nil && rec.kind == kindSidecar && !cs.Ready {
			notReady = append(notReady, cs.Name)
		}
		if rec != nil && rec.kind == kindInit && !in.initialized {
			if cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 0 {
				notInit = append(notInit, cs.Name)
			}
		}
	}
	for _, cs := range st.ContainerStatuses {
		if !cs.Ready {
			notReady = append(notReady, cs.Name)
		}
	}
	cond := func(t corev1.PodConditionType, ok bool, reason, msg string) corev1.PodCondition {
		c := corev1.PodCondition{Type: t, ObservedGeneration: pod.Generation, Status: corev1.ConditionFalse, Reason: reason, Message: msg}
		if ok {
			c.Status, c.Reason, c.Message = corev1.ConditionTrue, "", ""
		}
		c.LastTransitionTime = apiTime(in.now)
		for _, p := range pod.Status.Conditions {
			if p.Type == t && p.Status == c.Status {
				c.LastTransitionTime = p.LastTransitionTime
			}
		}
		return c
	}
	readyReason, readyMsg := "ContainersNotReady", fmt.Sprintf("containers with unready status: [%s]", strings.Join(notReady, " "))
	if terminal {
		readyReason, readyMsg = "PodCompleted", ""
	}
	initReason, initMsg := "ContainersNotInitialized", fmt.Sprintf("containers with incomplete status: [%s]", strings.Join(notInit, " "))
	if terminal && in.initialized {
		initReason, initMsg = "PodCompleted", ""
	}
	ready := !terminal && len(notReady) == 0
	out := []corev1.PodCondition{
		cond(corev1.PodReadyToStartContainers, in.sandboxed && !(terminal && allExited(in.recs)), "", ""),
		cond(corev1.PodInitialized, in.initialized, initReason, initMsg),
		cond(corev1.PodReady, ready, readyReason, readyMsg),
		cond(corev1.ContainersReady, ready, readyReason, readyMsg),
	}
	owned := map[corev1.PodConditionType]bool{}
	for _, c := range out {
		owned[c.Type] = true
	}
	// The pod is bound to this node, so it is scheduled whatever an earlier
	// Unschedulable verdict said (the API server's binding normally flips it).
	for _, p := range pod.Status.Conditions {
		if !owned[p.Type] && p.Type != corev1.PodScheduled {
			out = append(out, p)
		}
	}
	out = append(out, cond(corev1.PodScheduled, true, "", ""))
	return out
}

func allExited(recs map[string]*containerRecord) bool {
	for _, r := range recs {
		if r.running() {
			return false
		}
	}
	return true
}

// qosClass classifies the pod as the API server does.
func qosClass(pod *corev1.Pod) corev1.PodQOSClass {
	var any, guaranteed = false, true
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range list {
			if len(c.Resources.Requests) > 0 || len(c.Resources.Limits) > 0 {
				any = true
			}
			for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				l, hasLimit := c.Resources.Limits[name]
				r, hasReq := c.Resources.Requests[name]
				if !hasLimit || (hasReq && r.Cmp(l) != 0) {
					guaranteed = false
				}
			}
		}
	}
	switch {
	case !any:
		return corev1.PodQOSBestEffort
	case guaranteed:
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}
