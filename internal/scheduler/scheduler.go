// Package scheduler binds pending pods to nodes, as kube-scheduler does for the subset
// batch work needs: node readiness and cordons, nodeSelector and required node affinity,
// taints and tolerations, and resource requests (cpu, memory, nvidia.com/gpu, pod count)
// against each node's allocatable minus what its non-terminal pods request. Among the
// nodes that fit it picks the least allocated one. Pods that fit nowhere get
// PodScheduled=False (reason Unschedulable) and a FailedScheduling event, and are retried
// with back-off and whenever pods or nodes change.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/kjet-dev/kjet/internal/cachetrim"
	"github.com/kjet-dev/kjet/internal/workers"
)

// DefaultSchedulerName is the spec.schedulerName this scheduler serves (an empty name
// means the same).
const DefaultSchedulerName = corev1.DefaultSchedulerName

// Options configure a Scheduler.
type Options struct {
	// Client talks to the API server. Required.
	Client kubernetes.Interface
	// Clock drives back-off; default the real clock.
	Clock clock.Clock
	// SchedulerName is the spec.schedulerName served; default "default-scheduler".
	SchedulerName string
	// InitialBackoff and MaxBackoff bound the retry delay of unschedulable pods;
	// defaults 1 s and 10 s (kube-scheduler's pod back-off).
	InitialBackoff, MaxBackoff time.Duration
	// Informers, when set, is a factory shared with other components of the process:
	// New takes its pod and node informers from it (and indexes the pods), so the
	// caller starts it after New. Nil: Run watches pods and nodes through Client with
	// informers of its own.
	Informers informers.SharedInformerFactory
}

// Scheduler assigns pods to nodes. Create it with New and start it with Run.
type Scheduler struct {
	opts   Options
	client kubernetes.Interface
	clock  clock.WithTicker

	// factory is the scheduler's own informer factory, nil when Options.Informers is
	// shared; podInformer and nodeInformer come from one or the other.
	factory                   informers.SharedInformerFactory
	podInformer, nodeInformer cache.SharedIndexInformer
	pods                      corelisters.PodLister
	nodes                     corelisters.NodeLister
	queue                     workqueue.TypedRateLimitingInterface[string]

	recorder record.EventRecorder

	mu sync.Mutex // guards assumed and pending
	// assumed holds pods bound by this scheduler that the informer has not yet shown
	// bound, so their requests count against the node at once.
	assumed map[types.UID]assumedPod
	// pending holds keys of pods that did not fit, retried when the cluster changes.
	pending map[string]struct{}
}

type assumedPod struct {
	node     string
	requests corev1.ResourceList
}

// New checks the options and returns a Scheduler.
func New(opts Options) (*Scheduler, error) {
	if opts.Client == nil {
		return nil, errors.New("scheduler: Options.Client is required")
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.SchedulerName == "" {
		opts.SchedulerName = DefaultSchedulerName
	}
	if opts.InitialBackoff <= 0 {
		opts.InitialBackoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 10 * time.Second
	}
	c, ok := opts.Clock.(clock.WithTicker)
	if !ok {
		c = clock.RealClock{}
	}
	s := &Scheduler{
		opts:    opts,
		client:  opts.Client,
		clock:   c,
		assumed: map[types.UID]assumedPod{},
		pending: map[string]struct{}{},
	}
	factory := opts.Informers
	if factory == nil {
		s.factory = cachetrim.NewInformerFactory(s.client)
		factory = s.factory
	}
	podInformer, nodeInformer := factory.Core().V1().Pods(), factory.Core().V1().Nodes()
	s.podInformer, s.nodeInformer = podInformer.Informer(), nodeInformer.Informer()
	s.pods, s.nodes = podInformer.Lister(), nodeInformer.Lister()
	if err := s.podInformer.AddIndexers(cache.Indexers{activePodsByNodeIndex: indexActivePodByNode}); err != nil {
		return nil, fmt.Errorf("scheduler: indexing pods by node: %w", err)
	}
	return s, nil
}

// activePodsByNodeIndex indexes the bound pods that are not terminal by node name: what
// counts against a node's room. Without it every scheduling decision would walk every
// pod, the finished ones of a 2000-pod Job included.
const activePodsByNodeIndex = "kjet.scheduler/active-pods-by-node"

func indexActivePodByNode(obj any) ([]string, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || pod.Spec.NodeName == "" || isTerminal(pod) {
		return nil, nil
	}
	return []string{pod.Spec.NodeName}, nil
}

// Run schedules pods until ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	s.queue = workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[string](s.opts.InitialBackoff, s.opts.MaxBackoff),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: "", Clock: s.clock})
	defer s.queue.ShutDown()

	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: s.client.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	s.recorder = broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: s.opts.SchedulerName})

	podReg, err := s.podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.podChanged(obj) },
		UpdateFunc: func(_, obj any) { s.podChanged(obj) },
		DeleteFunc: s.podDeleted,
	})
	if err != nil {
		return fmt.Errorf("watching pods: %w", err)
	}
	defer func() { _ = s.podInformer.RemoveEventHandler(podReg) }()
	nodeReg, err := s.nodeInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { s.retryPending() },
		UpdateFunc: func(any, any) { s.retryPending() },
	})
	if err != nil {
		return fmt.Errorf("watching nodes: %w", err)
	}
	defer func() { _ = s.nodeInformer.RemoveEventHandler(nodeReg) }()
	if s.factory != nil {
		s.factory.Start(ctx.Done())
		defer s.factory.Shutdown()
	}
	// Handlers added to a shared informer that already runs are synced once they have
	// been handed every pod and node it holds.
	if !cache.WaitFor(ctx, "", s.podInformer.HasSyncedChecker(), s.nodeInformer.HasSyncedChecker(), podReg.HasSyncedChecker(), nodeReg.HasSyncedChecker()) {
		return nil // ctx ended first
	}

	// One worker: scheduling decisions are serial so two pods never take the same free
	// room.
	workers.Run(ctx, []workers.Queue{s.queue}, workers.Loop{Workers: 1, Process: s.processNext})
	return nil
}

func (s *Scheduler) responsible(pod *corev1.Pod) bool {
	return pod.Spec.SchedulerName == "" || pod.Spec.SchedulerName == s.opts.SchedulerName
}

func isTerminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

func (s *Scheduler) podChanged(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if pod.Spec.NodeName == "" {
		if s.responsible(pod) && !isTerminal(pod) && pod.DeletionTimestamp == nil {
			s.queue.Add(cache.MetaObjectToName(pod).String())
		}
		return
	}
	s.mu.Lock()
	_, wasAssumed := s.assumed[pod.UID]
	delete(s.assumed, pod.UID)
	s.mu.Unlock()
	if !wasAssumed && (isTerminal(pod) || pod.DeletionTimestamp != nil) {
		// A bound pod that finished or is going frees room.
		s.retryPending()
	}
}

func (s *Scheduler) podDeleted(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	s.mu.Lock()
	delete(s.assumed, pod.UID)
	delete(s.pending, cache.MetaObjectToName(pod).String())
	s.mu.Unlock()
	if pod.Spec.NodeName != "" {
		s.retryPending()
	}
}

// retryPending queues every pod that did not fit, now that the cluster changed.
func (s *Scheduler) retryPending() {
	if s.queue == nil {
		return
	}
	s.mu.Lock()
	keys := make([]string, 0, len(s.pending))
	for k := range s.pending {
		keys = append(keys, k)
	}
	s.mu.Unlock()
	for _, k := range keys {
		s.queue.Add(k)
	}
}

func (s *Scheduler) processNext(ctx context.Context) bool {
	key, quit := s.queue.Get()
	if quit {
		return false
	}
	defer s.queue.Done(key)
	retry, err := s.scheduleOne(ctx, key)
	switch {
	case err != nil || retry:
		if err != nil && ctx.Err() == nil {
			utilruntime.HandleError(fmt.Errorf("scheduling pod %s: %w", key, err))
		}
		s.queue.AddRateLimited(key)
	default:
		s.queue.Forget(key)
	}
	return true
}

// scheduleOne tries to bind one pod. retry reports that it did not fit anywhere.
func (s *Scheduler) scheduleOne(ctx context.Context, key string) (retry bool, err error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return false, nil
	}
	pod, err := s.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		s.forgetPending(key)
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading pod from cache: %w", err)
	}
	if pod.Spec.NodeName != "" || isTerminal(pod) || pod.DeletionTimestamp != nil || !s.responsible(pod) {
		s.forgetPending(key)
		return false, nil
	}
	s.mu.Lock()
	_, alreadyBound := s.assumed[pod.UID]
	s.mu.Unlock()
	if alreadyBound {
		return false, nil
	}
	if len(pod.Spec.SchedulingGates) > 0 {
		// Gated pods wait; removing the last gate is a pod update that queues them.
		return false, s.setScheduledFalse(ctx, pod, corev1.PodReasonSchedulingGated, "Scheduling is blocked due to non-empty scheduling gates", false)
	}
	node, reasons, nodeCount, err := s.pickNode(pod)
	if err != nil {
		return false, err
	}
	if node == "" {
		msg := unschedulableMessage(nodeCount, reasons)
		s.mu.Lock()
		s.pending[key] = struct{}{}
		s.mu.Unlock()
		if err := s.setScheduledFalse(ctx, pod, corev1.PodReasonUnschedulable, msg, true); err != nil {
			return true, err
		}
		return true, nil
	}
	return false, s.bind(ctx, pod, node)
}

func (s *Scheduler) forgetPending(key string) {
	s.mu.Lock()
	delete(s.pending, key)
	s.mu.Unlock()
}

// pickNode returns the best node for the pod, or "" and each node's reasons.
func (s *Scheduler) pickNode(pod *corev1.Pod) (string, [][]string, int, error) {
	nodes, err := s.nodes.List(labels.Everything())
	if err != nil {
		return "", nil, 0, fmt.Errorf("listing nodes: %w", err)
	}
	usage, err := s.usageByNode(nodes)
	if err != nil {
		return "", nil, 0, err
	}
	reqs := podRequests(pod)
	best, bestScore := "", int64(-1)
	var reasons [][]string
	for _, node := range nodes {
		used := usage[node.Name]
		if rs := fits(pod, reqs, node, used); len(rs) > 0 {
			reasons = append(reasons, rs)
			continue
		}
		score := leastAllocatedScore(reqs, node, used)
		if score > bestScore || (score == bestScore && node.Name < best) {
			best, bestScore = node.Name, score
		}
	}
	return best, reasons, len(nodes), nil
}

// usageByNode sums the requests of bound, non-terminal pods per node, plus the pods this
// scheduler bound that the cache does not show bound yet.
func (s *Scheduler) usageByNode(nodes []*corev1.Node) (map[string]nodeUsage, error) {
	usage := make(map[string]nodeUsage, len(nodes))
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, node := range nodes {
		objs, err := s.podInformer.GetIndexer().ByIndex(activePodsByNodeIndex, node.Name)
		if err != nil {
			return nil, fmt.Errorf("listing pods on node %s: %w", node.Name, err)
		}
		for _, obj := range objs {
			p := obj.(*corev1.Pod)
			if _, ok := s.assumed[p.UID]; ok {
				continue
			}
			u := usage[node.Name]
			u.add(podRequests(p))
			usage[node.Name] = u
		}
	}
	for _, a := range s.assumed {
		u := usage[a.node]
		u.add(a.requests)
		usage[a.node] = u
	}
	return usage, nil
}

func (s *Scheduler) bind(ctx context.Context, pod *corev1.Pod, node string) error {
	s.mu.Lock()
	s.assumed[pod.UID] = assumedPod{node: node, requests: podRequests(pod)}
	delete(s.pending, cache.MetaObjectToName(pod).String())
	s.mu.Unlock()
	binding := &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: node},
	}
	err := s.client.CoreV1().Pods(pod.Namespace).Bind(ctx, binding, metav1.CreateOptions{})
	if err != nil {
		s.mu.Lock()
		delete(s.assumed, pod.UID)
		s.mu.Unlock()
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil // deleted or already bound: the informer will tell.
		}
		return fmt.Errorf("binding to node %s: %w", node, err)
	}
	s.recorder.Eventf(pod, corev1.EventTypeNormal, "Scheduled", "Successfully assigned %s/%s to %s", pod.Namespace, pod.Name, node)
	return nil
}

// setScheduledFalse writes PodScheduled=False with the reason and message (and, with
// event set, a FailedScheduling event), once per distinct message.
func (s *Scheduler) setScheduledFalse(ctx context.Context, pod *corev1.Pod, reason, msg string, event bool) error {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == reason && c.Message == msg {
			return nil
		}
	}
	if event {
		s.recorder.Event(pod, corev1.EventTypeWarning, "FailedScheduling", msg)
	}
	updated := pod.DeepCopy()
	cond := corev1.PodCondition{
		Type:               corev1.PodScheduled,
		Status:             corev1.ConditionFalse,
		Reason:             reason,
		Message:            msg,
		LastTransitionTime: metav1.NewTime(s.clock.Now()),
	}
	replaced := false
	for i, c := range updated.Status.Conditions {
		if c.Type == corev1.PodScheduled {
			if c.Status == cond.Status {
				cond.LastTransitionTime = c.LastTransitionTime
			}
			updated.Status.Conditions[i] = cond
			replaced = true
		}
	}
	if !replaced {
		updated.Status.Conditions = append(updated.Status.Conditions, cond)
	}
	if updated.Status.Phase == "" {
		updated.Status.Phase = corev1.PodPending
	}
	_, err := s.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("writing PodScheduled condition: %w", err)
	}
	return nil
}
