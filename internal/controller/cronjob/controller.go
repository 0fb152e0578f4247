// Package cronjob is kjet's CronJob controller: it creates a Job for each time a
// CronJob's schedule comes round (in the CronJob's time zone), applies the concurrency
// policy, startingDeadlineSeconds and suspend, keeps status.active, lastScheduleTime and
// lastSuccessfulTime, and prunes finished Jobs beyond the history limits.
//
// It behaves like Kubernetes' cronjob controller (v2): no state outside the API, a
// deterministic Job name per schedule time so that retries never create twice, at most
// one Job for any number of missed times, and a timed requeue at the next schedule time.
package cronjob

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"

	workerloops "github.com/kjet-dev/kjet/internal/workers"
)

// ComponentName is the source of the events this controller records.
const ComponentName = "cronjob-controller"

// Options configure a Controller.
type Options struct {
	// Client reads and writes CronJobs, Jobs and Events. Required.
	Client kubernetes.Interface
	// Informers provides the CronJob and Job informers; New registers them, Run starts
	// the factory (starting an already started factory is harmless). Required.
	Informers informers.SharedInformerFactory
	// Clock is the source of now() and of every timed requeue. Default: the real clock.
	Clock clock.WithTicker
	// Location is the time zone of CronJobs without spec.timeZone (Kubernetes uses the
	// kube-controller-manager's local zone). Default: time.Local.
	Location *time.Location
	// Recorder records events. Default: a broadcaster writing Events through Client
	// with source component "cronjob-controller", started by Run.
	Recorder record.EventRecorder
}

// Controller runs CronJobs.
type Controller struct {
	client   kubernetes.Interface
	factory  informers.SharedInformerFactory
	clock    clock.WithTicker
	location *time.Location
	recorder record.EventRecorder
	// broadcaster is set when the controller owns its event pipeline (Options.Recorder
	// unset); Run starts and stops it.
	broadcaster record.EventBroadcaster

	cronJobs       batchlisters.CronJobLister
	jobs           batchlisters.JobLister
	cronJobsSynced cache.DoneChecker
	jobsSynced     cache.DoneChecker

	queue workqueue.TypedRateLimitingInterface[string]
}

// New builds a Controller and registers its event handlers on the informers.
func New(opts Options) (*Controller, error) {
	if opts.Client == nil {
		return nil, errors.New("cronjob controller: Options.Client is required")
	}
	if opts.Informers == nil {
		return nil, errors.New("cronjob controller: Options.Informers is required")
	}
	c := &Controller{
		client:   opts.Client,
		factory:  opts.Informers,
		clock:    opts.Clock,
		location: opts.Location,
		recorder: opts.Recorder,
	}
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	if c.location == nil {
		c.location = time.Local
	}
	if c.recorder == nil {
		c.broadcaster = record.NewBroadcaster()
		c.recorder = c.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: ComponentName})
	}
	c.queue = workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: "cronjob", Clock: c.clock},
	)

	cjInformer := opts.Informers.Batch().V1().CronJobs()
	jobInformer := opts.Informers.Batch().V1().Jobs()
	c.cronJobs = cjInformer.Lister()
	c.jobs = jobInformer.Lister()
	c.cronJobsSynced = cjInformer.Informer().HasSyncedChecker()
	c.jobsSynced = jobInformer.Informer().HasSyncedChecker()

	if _, err := cjInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: c.updateCronJob,
		DeleteFunc: c.enqueue,
	}); err != nil {
		return nil, fmt.Errorf("adding cronjob event handler: %w", err)
	}
	if _, err := jobInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.jobChanged,
		UpdateFunc: c.updateJob,
		DeleteFunc: c.jobChanged,
	}); err != nil {
		return nil, fmt.Errorf("adding job event handler: %w", err)
	}
	return c, nil
}

// Run starts the informers and workers and blocks until ctx is done. It returns an
// error only if the caches could not sync.
func (c *Controller) Run(ctx context.Context, workers int) error {
	defer utilruntime.HandleCrash()
	if workers < 1 {
		workers = 1
	}
	if c.broadcaster != nil {
		c.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
		defer c.broadcaster.Shutdown()
	}
	defer c.queue.ShutDown()

	c.factory.Start(ctx.Done())
	if !cache.WaitFor(ctx, "", c.cronJobsSynced, c.jobsSynced) {
		if ctx.Err() != nil {
			return nil
		}
		return errors.New("cronjob controller: caches did not sync")
	}

	workerloops.Run(ctx, []workerloops.Queue{c.queue}, workerloops.Loop{Workers: workers, Process: c.processNext})
	return nil
}

func (c *Controller) processNext(ctx context.Context) bool {
	return workerloops.ProcessNext(ctx, c.queue, "syncing cronjob", func(ctx context.Context, key string) (workerloops.Result, error) {
		requeueAfter, err := c.sync(ctx, key)
		return workerloops.Result{RequeueAfter: requeueAfter}, err
	})
}

func (c *Controller) enqueue(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		utilruntime.HandleError(fmt.Errorf("getting key of %T: %w", obj, err))
		return
	}
	c.queue.Add(key)
}

// updateCronJob requeues a CronJob for its (new) next schedule time when schedule or
// timeZone changed, and at once for any other change.
func (c *Controller) updateCronJob(oldObj, newObj any) {
	oldCJ, ok1 := oldObj.(*batchv1.CronJob)
	newCJ, ok2 := newObj.(*batchv1.CronJob)
	if !ok1 || !ok2 {
		return
	}
	if oldCJ.Spec.Schedule != newCJ.Spec.Schedule || !ptr.Equal(oldCJ.Spec.TimeZone, newCJ.Spec.TimeZone) {
		sched, err := parseSchedule(newCJ, c.location)
		if err != nil {
			c.recorder.Eventf(newCJ, corev1.EventTypeWarning, "UnParseableCronJobSchedule", "unparseable schedule for cronjob: %s", newCJ.Spec.Schedule)
			return
		}
		key, err := cache.MetaNamespaceKeyFunc(newCJ)
		if err != nil {
			return
		}
		c.queue.AddAfter(key, nextScheduleTimeDuration(newCJ, c.clock.Now(), sched))
		return
	}
	c.enqueue(newObj)
}

// jobChanged wakes the CronJob that controls a Job.
func (c *Controller) jobChanged(obj any) {
	job, ok := obj.(*batchv1.Job)
	if !ok {
		tomb, ok := obj.(cache.DeletedFinalStateUnknown)
		if !ok {
			return
		}
		if job, ok = tomb.Obj.(*batchv1.Job); !ok {
			return
		}
	}
	c.enqueueController(job.Namespace, metav1.GetControllerOf(job))
}

func (c *Controller) updateJob(oldObj, newObj any) {
	oldJob, ok1 := oldObj.(*batchv1.Job)
	newJob, ok2 := newObj.(*batchv1.Job)
	if !ok1 || !ok2 || oldJob.ResourceVersion == newJob.ResourceVersion {
		return
	}
	oldRef, newRef := metav1.GetControllerOf(oldJob), metav1.GetControllerOf(newJob)
	if oldRef != nil && !reflect.DeepEqual(oldRef, newRef) {
		c.enqueueController(oldJob.Namespace, oldRef)
	}
	c.enqueueController(newJob.Namespace, newRef)
}

// enqueueController queues the CronJob a controller reference names, if it is one of
// ours (same kind, name and UID).
func (c *Controller) enqueueController(namespace string, ref *metav1.OwnerReference) {
	if ref == nil || ref.Kind != controllerKind.Kind {
		return
	}
	cj, err := c.cronJobs.CronJobs(namespace).Get(ref.Name)
	if err != nil || cj.UID != ref.UID {
		return
	}
	c.enqueue(cj)
}

// logger is the controller's logger for ctx.
func logger(ctx context.Context) klog.Logger {
	return klog.FromContext(ctx).WithName(ComponentName)
}
