package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// Pod predicates and helpers shared by the sync steps.

func hasTrackingFinalizer(pod *corev1.Pod) bool {
	for _, f := range pod.Finalizers {
		if f == batchv1.JobTrackingFinalizer {
			return true
		}
	}
	return false
}

func isPodTerminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// isActive: not terminal and not being deleted.
func isActive(pod *corev1.Pod) bool {
	return !isPodTerminal(pod) && pod.DeletionTimestamp == nil
}

// isTerminating: being deleted and not terminal yet.
func isTerminating(pod *corev1.Pod) bool {
	return pod.DeletionTimestamp != nil && !isPodTerminal(pod)
}

func isPodReady(pod *corev1.Pod) bool {
	c := podCondition(pod, corev1.PodReady)
	return c != nil && c.Status == corev1.ConditionTrue
}

func podCondition(pod *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == t {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// onlyReplaceFailedPods: replacement waits for phase Failed (policy Failed,
// which a podFailurePolicy forces).
func onlyReplaceFailedPods(job *batchv1.Job) bool {
	if job.Spec.PodReplacementPolicy != nil && *job.Spec.PodReplacementPolicy == batchv1.Failed {
		return true
	}
	return job.Spec.PodFailurePolicy != nil
}

// isPodFailed reports whether the Job counts pod as failed: phase Failed, or
// (policy TerminatingOrFailed) deleted before it succeeded.
func isPodFailed(pod *corev1.Pod, job *batchv1.Job) bool {
	if pod.Status.Phase == corev1.PodFailed {
		return true
	}
	if onlyReplaceFailedPods(job) {
		return false
	}
	return pod.DeletionTimestamp != nil && pod.Status.Phase != corev1.PodSucceeded
}

// finishedTime is when pod finished: the latest container finishedAt, else
// the Ready=False transition, else deletionTimestamp minus the grace period,
// else its creation.
func finishedTime(pod *corev1.Pod) time.Time {
	var latest time.Time
	for _, lists := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for _, cs := range lists {
			if t := cs.State.Terminated; t != nil && t.FinishedAt.After(latest) {
				latest = t.FinishedAt.Time
			}
		}
	}
	if !latest.IsZero() {
		return latest
	}
	if c := podCondition(pod, corev1.PodReady); c != nil && c.Status == corev1.ConditionFalse && !c.LastTransitionTime.IsZero() {
		return c.LastTransitionTime.Time
	}
	if pod.DeletionTimestamp != nil {
		t := pod.DeletionTimestamp.Time
		if pod.DeletionGracePeriodSeconds != nil {
			t = t.Add(-time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second)
		}
		return t
	}
	return pod.CreationTimestamp.Time
}

func sortByFinishedTime(pods []*corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool { return finishedTime(pods[i]).Before(finishedTime(pods[j])) })
}

func maxRestarts(pod *corev1.Pod) int32 {
	var m int32
	for _, cs := range pod.Status.ContainerStatuses {
		m = max(m, cs.RestartCount)
	}
	return m
}

func readySince(pod *corev1.Pod) time.Time {
	if c := podCondition(pod, corev1.PodReady); c != nil && c.Status == corev1.ConditionTrue {
		return c.LastTransitionTime.Time
	}
	return time.Time{}
}

var phaseRank = map[corev1.PodPhase]int{corev1.PodPending: 0, corev1.PodUnknown: 1, corev1.PodRunning: 2}

// deleteFirst orders active pods with the best deletion candidates first:
// unscheduled, then Pending/Unknown/Running, not ready, ready for the shortest
// time, most restarts, newest.
func deleteFirst(a, b *corev1.Pod) bool {
	if (a.Spec.NodeName == "") != (b.Spec.NodeName == "") {
		return a.Spec.NodeName == ""
	}
	if ra, rb := phaseRank[a.Status.Phase], phaseRank[b.Status.Phase]; ra != rb {
		return ra < rb
	}
	if isPodReady(a) != isPodReady(b) {
		return !isPodReady(a)
	}
	if isPodReady(a) {
		if ta, tb := readySince(a), readySince(b); !ta.Equal(tb) {
			return ta.After(tb)
		}
	}
	if ra, rb := maxRestarts(a), maxRestarts(b); ra != rb {
		return ra > rb
	}
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.After(b.CreationTimestamp.Time)
	}
	return a.Name < b.Name
}

func sortForDeletion(pods []*corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool { return deleteFirst(pods[i], pods[j]) })
}

// removeFinalizerPatch is the strategic merge patch that drops the tracking
// finalizer, leaving any other finalizers alone.
var removeFinalizerPatch = []byte(`{"metadata":{"$deleteFromPrimitiveList/finalizers":["` + batchv1.JobTrackingFinalizer + `"]}}`)

func (c *Controller) removeTrackingFinalizer(ctx context.Context, pod *corev1.Pod) error {
	_, err := c.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, removeFinalizerPatch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// claimPods returns the pods the Job owns after adopting matching orphans and
// releasing owned pods whose labels no longer match its selector.
func (c *Controller) claimPods(ctx context.Context, job *batchv1.Job) ([]*corev1.Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("parsing selector of job %s: %w", jobKey(job), err)
	}
	owned, err := c.podIndexer.ByIndex(podsByControllerIndex, job.Namespace+"/"+string(job.UID))
	if err != nil {
		return nil, fmt.Errorf("listing pods of job %s: %w", jobKey(job), err)
	}
	pods := make([]*corev1.Pod, 0, len(owned))
	var errs []error
	for _, o := range owned {
		pod := o.(*corev1.Pod)
		if sel.Matches(labels.Set(pod.Labels)) || job.DeletionTimestamp != nil {
			pods = append(pods, pod)
			continue
		}
		if err := c.releasePod(ctx, job, pod); err != nil {
			errs = append(errs, err)
		}
	}
	if sel.Empty() || job.DeletionTimestamp != nil {
		return pods, errors.Join(errs...)
	}
	orphans, err := c.podIndexer.ByIndex(podsByControllerIndex, job.Namespace+"/")
	if err != nil {
		return nil, fmt.Errorf("listing orphan pods: %w", err)
	}
	var fresh *bool // result of the fresh GET, made at most once
	for _, o := range orphans {
		pod := o.(*corev1.Pod)
		if pod.DeletionTimestamp != nil || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		if fresh == nil {
			ok := c.canAdopt(ctx, job)
			fresh = &ok
		}
		if !*fresh {
			break
		}
		if err := c.adoptPod(ctx, job, pod); err != nil {
			if !apierrors.IsNotFound(err) {
				errs = append(errs, err)
			}
			continue
		}
		pods = append(pods, pod)
	}
	return pods, errors.Join(errs...)
}

// canAdopt re-reads the Job from the API: only a live Job with the same UID
// may adopt (the cache could be stale).
func (c *Controller) canAdopt(ctx context.Context, job *batchv1.Job) bool {
	cur, err := c.client.BatchV1().Jobs(job.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
	return err == nil && cur.UID == job.UID && cur.DeletionTimestamp == nil
}

func controllerRef(job *batchv1.Job) *metav1.OwnerReference {
	t := true
	return &metav1.OwnerReference{
		APIVersion:         batchv1.SchemeGroupVersion.String(),
		Kind:               "Job",
		Name:               job.Name,
		UID:                job.UID,
		Controller:         &t,
		BlockOwnerDeletion: &t,
	}
}

func (c *Controller) adoptPod(ctx context.Context, job *batchv1.Job, pod *corev1.Pod) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": []*metav1.OwnerReference{controllerRef(job)},
		"uid":             pod.UID,
		"finalizers":      []string{batchv1.JobTrackingFinalizer},
	}})
	if err != nil {
		return err
	}
	if _, err := c.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("adopting pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

func (c *Controller) releasePod(ctx context.Context, job *batchv1.Job, pod *corev1.Pod) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": []map[string]any{{"$patch": "delete", "uid": job.UID}},
		"uid":             pod.UID,
	}})
	if err != nil {
		return err
	}
	_, err = c.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("releasing pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}
