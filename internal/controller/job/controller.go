// Package job is kjet's Job controller: it runs the pods of batch/v1 Jobs to
// completion with Kubernetes' semantics (non-parallel, fixed completions and
// work-queue Jobs; Indexed mode; back-off and backoffLimit(PerIndex); pod
// failure and success policies; suspend; active deadlines) and tracks every
// finished pod exactly once through the batch.kubernetes.io/job-tracking
// finalizer and status.uncountedTerminatedPods.
//
// The controller reads through shared informers and writes only through the
// API; everything it knows can be rebuilt from the API after a restart, except
// the in-memory recreation back-off, which Kubernetes forgets too.
package job

import (
	"context"
	"errors"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/kjet-dev/kjet/internal/controller/internal/eventrecorder"
	"github.com/kjet-dev/kjet/internal/controller/internal/expectations"
	workerloops "github.com/kjet-dev/kjet/internal/workers"
)

// Defaults of Options.
const (
	DefaultBackoffBase = 10 * time.Second
	DefaultBackoffMax  = 10 * time.Minute
	DefaultSyncDelay   = time.Second

	// Component is the event source shown by kubectl describe.
	Component = "job-controller"

	// maxPodCreateDeletePerSync caps the pod creations or deletions of one sync.
	maxPodCreateDeletePerSync = 500
	// maxUncountedPods caps the finished pods recorded per sync.
	maxUncountedPods = 500
	// apiBackoffBase/apiBackoffMax bound the per-Job retry delay after errors.
	apiBackoffBase = time.Second
	apiBackoffMax  = time.Minute
	// parallelCalls bounds the concurrent API calls of one batch.
	parallelCalls = 64
	// podsByControllerIndex indexes pods by their controller's UID ("" for
	// orphans, prefixed by namespace).
	podsByControllerIndex = "kjet.dev/pods-by-controller"
)

// Options configure a Controller.
type Options struct {
	// Client writes pods, Jobs' status and events. Required.
	Client kubernetes.Interface
	// Informers provides the pod and Job informers. New registers them; the
	// caller starts the factory. Required.
	Informers informers.SharedInformerFactory
	// Clock is the time source; nil means the real clock.
	Clock clock.WithTicker
	// BackoffBase is the recreation back-off after the first failed pod;
	// it doubles with every further failure. Default DefaultBackoffBase.
	BackoffBase time.Duration
	// BackoffMax caps the recreation back-off. Default DefaultBackoffMax.
	BackoffMax time.Duration
	// SyncDelay batches syncs caused by pod events and status updates: a Job
	// syncs for them at most once per SyncDelay; the first change after a quiet
	// SyncDelay syncs at once. Default DefaultSyncDelay.
	SyncDelay time.Duration
}

// Controller runs Jobs' pods.
type Controller struct {
	client kubernetes.Interface
	clock  clock.WithTicker
	opts   Options

	jobLister  batchlisters.JobLister
	podLister  corelisters.PodLister
	podIndexer cache.Indexer
	synced     []cache.DoneChecker

	// queue holds Job keys; orphanQueue holds pod keys whose tracking
	// finalizer may need to go.
	queue       workqueue.TypedRateLimitingInterface[string]
	orphanQueue workqueue.TypedRateLimitingInterface[string]

	expectations          *expectations.Counts
	finalizerExpectations *expectations.UIDs
	backoffs              *backoffStore
	// windows spaces out the syncs pod events cause (Options.SyncDelay).
	windows *syncWindows

	recorder record.EventRecorder
	// events is non-nil when the controller owns event delivery.
	events *eventrecorder.Recorder
}

// New returns a Controller and registers its event handlers (and a pod index
// by controller UID) on the pod and Job informers of opts.Informers; call it
// before the factory is started. Events go to the API server from Run on.
func New(opts Options) (*Controller, error) {
	if opts.Client == nil || opts.Informers == nil {
		return nil, errors.New("job controller: Client and Informers are required")
	}
	rec := eventrecorder.New(opts.Client, Component)
	c, err := newController(opts, rec)
	if err != nil {
		return nil, err
	}
	c.events = rec
	return c, nil
}

// newController builds a Controller that records events with recorder.
func newController(opts Options, recorder record.EventRecorder) (*Controller, error) {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.BackoffBase <= 0 {
		opts.BackoffBase = DefaultBackoffBase
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = DefaultBackoffMax
	}
	if opts.SyncDelay <= 0 {
		opts.SyncDelay = DefaultSyncDelay
	}
	jobInformer := opts.Informers.Batch().V1().Jobs()
	podInformer := opts.Informers.Core().V1().Pods()
	c := &Controller{
		client: opts.Client,
		clock:  opts.Clock,
		opts:   opts,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](apiBackoffBase, apiBackoffMax),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "job", Clock: opts.Clock}),
		orphanQueue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](apiBackoffBase, apiBackoffMax),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "job-orphan-pod", Clock: opts.Clock}),
		expectations:          expectations.NewCounts(opts.Clock),
		finalizerExpectations: expectations.NewUIDs(),
		backoffs:              newBackoffStore(),
		windows:               newSyncWindows(opts.Clock, opts.SyncDelay),
		recorder:              recorder,
	}
	if err := podInformer.Informer().AddIndexers(cache.Indexers{podsByControllerIndex: indexPodByController}); err != nil {
		return nil, fmt.Errorf("adding pod indexer: %w", err)
	}
	if _, err := jobInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addJob,
		UpdateFunc: c.updateJob,
		DeleteFunc: c.deleteJob,
	}); err != nil {
		return nil, fmt.Errorf("adding job event handler: %w", err)
	}
	if _, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addPod,
		UpdateFunc: c.updatePod,
		DeleteFunc: func(obj any) { c.deletePod(obj, true) },
	}); err != nil {
		return nil, fmt.Errorf("adding pod event handler: %w", err)
	}
	c.jobLister = jobInformer.Lister()
	c.podLister = podInformer.Lister()
	c.podIndexer = podInformer.Informer().GetIndexer()
	c.synced = []cache.DoneChecker{jobInformer.Informer().HasSyncedChecker(), podInformer.Informer().HasSyncedChecker()}
	return c, nil
}

// indexPodByController indexes a pod under "<ns>/<controller uid>", or
// "<ns>/" when it has no controller.
func indexPodByController(obj any) ([]string, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, nil
	}
	uid := ""
	if ref := metav1.GetControllerOf(pod); ref != nil {
		uid = string(ref.UID)
	}
	return []string{pod.Namespace + "/" + uid}, nil
}

// Run waits for the caches, runs workers Job workers and one orphan-pod
// worker, and returns when ctx ends and every worker has stopped. New must
// have been called before the informer factory was started.
func (c *Controller) Run(ctx context.Context, workers int) error {
	if workers < 1 {
		workers = 1
	}
	if c.events != nil {
		c.events.Start()
		defer c.events.Stop()
	}
	defer c.queue.ShutDown()
	defer c.orphanQueue.ShutDown()
	if !cache.WaitFor(ctx, "", c.synced...) {
		return nil // ctx ended before the caches synced: a normal shutdown
	}
	workerloops.Run(ctx, []workerloops.Queue{c.queue, c.orphanQueue},
		workerloops.Loop{Workers: workers, Process: c.processNextJob},
		workerloops.Loop{Workers: 1, Process: c.processNextOrphanPod})
	return nil
}

func (c *Controller) processNextJob(ctx context.Context) bool {
	return workerloops.ProcessNext(ctx, c.queue, "syncing job", func(ctx context.Context, key string) (workerloops.Result, error) {
		c.windows.synced(key)
		err := c.syncJob(ctx, key)
		// The window runs from the end of the sync as well: the next batched sync
		// then comes a window after this one's writes, which the cache has seen by
		// then, instead of acting on a Job status it has not caught up with.
		c.windows.synced(key)
		if ns, name, splitErr := cache.SplitMetaNamespaceKey(key); splitErr == nil {
			if _, getErr := c.jobLister.Jobs(ns).Get(name); apierrors.IsNotFound(getErr) {
				c.windows.forget(key)
			}
		}
		return workerloops.Result{}, err
	})
}

func (c *Controller) processNextOrphanPod(ctx context.Context) bool {
	return workerloops.ProcessNext(ctx, c.orphanQueue, "removing finalizer of orphan pod", func(ctx context.Context, key string) (workerloops.Result, error) {
		return workerloops.Result{}, c.syncOrphanPod(ctx, key)
	})
}

// syncOrphanPod removes the tracking finalizer from a pod whose Job is gone,
// finished, or which has no controller at all.
func (c *Controller) syncOrphanPod(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pod, err := c.podLister.Pods(ns).Get(name)
	if err != nil {
		return nil // gone
	}
	if !hasTrackingFinalizer(pod) {
		return nil
	}
	if ref := metav1.GetControllerOf(pod); ref != nil {
		if job := c.resolveControllerRef(ns, ref); job != nil && !isFinished(job) {
			return nil // the Job's own sync handles it
		}
	}
	if err := c.removeTrackingFinalizer(ctx, pod); err != nil {
		return fmt.Errorf("removing tracking finalizer from orphan pod %s: %w", key, err)
	}
	return nil
}

// resolveControllerRef returns the Job ref points at, or nil.
func (c *Controller) resolveControllerRef(ns string, ref *metav1.OwnerReference) *batchv1.Job {
	if ref.Kind != "Job" || ref.APIVersion != batchv1.SchemeGroupVersion.String() {
		return nil
	}
	job, err := c.jobLister.Jobs(ns).Get(ref.Name)
	if err != nil || job.UID != ref.UID {
		return nil
	}
	return job
}

func jobKey(job *batchv1.Job) string { return job.Namespace + "/" + job.Name }

// enqueueBatched syncs job for a pod event or status update: at once after a quiet
// window, else at the end of the current one (see syncWindows).
func (c *Controller) enqueueBatched(job *batchv1.Job) {
	c.enqueue(job, c.windows.delay(jobKey(job)))
}

// enqueue syncs job after delay.
func (c *Controller) enqueue(job *batchv1.Job, delay time.Duration) {
	if delay < 0 {
		delay = 0
	}
	c.queue.AddAfter(jobKey(job), delay)
}

func (c *Controller) enqueueOrphan(pod *corev1.Pod) {
	c.orphanQueue.Add(pod.Namespace + "/" + pod.Name)
}

// isManaged reports whether this controller manages job (spec.managedBy unset
// or kubernetes.io/job-controller).
func isManaged(job *batchv1.Job) bool {
	return job.Spec.ManagedBy == nil || *job.Spec.ManagedBy == batchv1.JobControllerName
}

func (c *Controller) addJob(obj any) {
	job, ok := obj.(*batchv1.Job)
	if !ok || !isManaged(job) {
		return
	}
	c.enqueue(job, 0)
	if isFinished(job) {
		c.enqueueOrphansOf(job)
	}
}

func (c *Controller) updateJob(oldObj, curObj any) {
	oldJob, ok1 := oldObj.(*batchv1.Job)
	curJob, ok2 := curObj.(*batchv1.Job)
	if !ok1 || !ok2 || !isManaged(curJob) {
		return
	}
	if isFinished(curJob) {
		c.enqueueOrphansOf(curJob)
	}
	if curJob.Generation == oldJob.Generation {
		c.enqueueBatched(curJob)
	} else {
		c.enqueue(curJob, 0)
	}
	// A new or changed activeDeadlineSeconds needs its own wake-up.
	if curJob.Status.StartTime != nil && curJob.Spec.ActiveDeadlineSeconds != nil {
		oldADS := oldJob.Spec.ActiveDeadlineSeconds
		if oldADS == nil || *oldADS != *curJob.Spec.ActiveDeadlineSeconds {
			total := time.Duration(*curJob.Spec.ActiveDeadlineSeconds) * time.Second
			c.enqueue(curJob, total-c.clock.Since(curJob.Status.StartTime.Time))
		}
	}
}

func (c *Controller) deleteJob(obj any) {
	job, ok := obj.(*batchv1.Job)
	if !ok {
		tomb, isTomb := obj.(cache.DeletedFinalStateUnknown)
		if !isTomb {
			return
		}
		if job, ok = tomb.Obj.(*batchv1.Job); !ok {
			return
		}
	}
	if !isManaged(job) {
		return
	}
	c.enqueue(job, 0)
	c.enqueueOrphansOf(job)
}

// enqueueOrphansOf queues the pods of job that still carry the tracking
// finalizer for the orphan worker.
func (c *Controller) enqueueOrphansOf(job *batchv1.Job) {
	objs, err := c.podIndexer.ByIndex(podsByControllerIndex, job.Namespace+"/"+string(job.UID))
	if err != nil {
		return
	}
	for _, o := range objs {
		if pod, ok := o.(*corev1.Pod); ok && hasTrackingFinalizer(pod) {
			c.enqueueOrphan(pod)
		}
	}
}

func (c *Controller) addPod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if pod.DeletionTimestamp != nil {
		c.deletePod(pod, false)
		return
	}
	if ref := metav1.GetControllerOf(pod); ref != nil {
		job := c.resolveControllerRef(pod.Namespace, ref)
		if job == nil {
			if hasTrackingFinalizer(pod) {
				c.enqueueOrphan(pod)
			}
			return
		}
		if !isManaged(job) {
			return
		}
		c.expectations.CreationObserved(jobKey(job))
		c.enqueueBatched(job)
		return
	}
	if hasTrackingFinalizer(pod) {
		c.enqueueOrphan(pod)
	}
	for _, job := range c.jobsMatching(pod) {
		c.enqueueBatched(job)
	}
}

func (c *Controller) updatePod(oldObj, curObj any) {
	oldPod, ok1 := oldObj.(*corev1.Pod)
	curPod, ok2 := curObj.(*corev1.Pod)
	if !ok1 || !ok2 || oldPod.ResourceVersion == curPod.ResourceVersion {
		return
	}
	if curPod.DeletionTimestamp != nil && oldPod.DeletionTimestamp == nil {
		// A graceful delete: act now, not when the pod finally goes.
		c.deletePod(curPod, false)
		return
	}
	finalizerRemoved := hasTrackingFinalizer(oldPod) && !hasTrackingFinalizer(curPod)
	curRef, oldRef := metav1.GetControllerOf(curPod), metav1.GetControllerOf(oldPod)
	if oldRef != nil && (curRef == nil || curRef.UID != oldRef.UID) {
		if job := c.resolveControllerRef(oldPod.Namespace, oldRef); job != nil {
			if finalizerRemoved {
				c.finalizerExpectations.Observed(jobKey(job), string(curPod.UID))
			}
			c.enqueueBatched(job)
		}
	}
	if curRef != nil {
		job := c.resolveControllerRef(curPod.Namespace, curRef)
		if job == nil {
			if hasTrackingFinalizer(curPod) {
				c.enqueueOrphan(curPod)
			}
			return
		}
		if !isManaged(job) {
			return
		}
		if finalizerRemoved {
			c.finalizerExpectations.Observed(jobKey(job), string(curPod.UID))
		}
		if isFinished(job) && hasTrackingFinalizer(curPod) {
			c.enqueueOrphan(curPod)
		}
		c.enqueueBatched(job)
		return
	}
	if hasTrackingFinalizer(curPod) {
		c.enqueueOrphan(curPod)
	}
	for _, job := range c.jobsMatching(curPod) {
		c.enqueueBatched(job)
	}
}

// deletePod handles a pod that is gone (final) or got its deletionTimestamp.
func (c *Controller) deletePod(obj any, final bool) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		tomb, isTomb := obj.(cache.DeletedFinalStateUnknown)
		if !isTomb {
			return
		}
		if pod, ok = tomb.Obj.(*corev1.Pod); !ok {
			return
		}
	}
	ref := metav1.GetControllerOf(pod)
	if ref == nil {
		return
	}
	job := c.resolveControllerRef(pod.Namespace, ref)
	if job == nil || !isManaged(job) {
		if !final && hasTrackingFinalizer(pod) {
			c.enqueueOrphan(pod)
		}
		return
	}
	key := jobKey(job)
	c.expectations.DeletionObserved(key)
	if final || !hasTrackingFinalizer(pod) {
		c.finalizerExpectations.Observed(key, string(pod.UID))
	}
	c.enqueueBatched(job)
}

// jobsMatching returns the unfinished Jobs of the pod's namespace whose
// selector matches the pod's labels (adoption candidates).
func (c *Controller) jobsMatching(pod *corev1.Pod) []*batchv1.Job {
	if len(pod.Labels) == 0 {
		return nil
	}
	jobs, err := c.jobLister.Jobs(pod.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []*batchv1.Job
	for _, job := range jobs {
		if !isManaged(job) || isFinished(job) {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
		if err != nil || sel.Empty() {
			continue
		}
		if sel.Matches(labels.Set(pod.Labels)) {
			out = append(out, job)
		}
	}
	return out
}
