// Package ttlafterfinished is kjet's TTL-after-finished controller: it deletes Jobs
// whose spec.ttlSecondsAfterFinished has run out since they finished (Complete or
// Failed), with propagation Foreground so their pods go first, as Kubernetes does.
//
// Expiry is the finishing condition's lastTransitionTime plus the TTL. Before expiry
// the Job is requeued for the time left; at expiry it is read again from the API (the
// TTL is mutable), checked again, and deleted with a UID precondition. No state is kept
// outside the API, so a restart simply recomputes every expiry.
package ttlafterfinished

import (
	"context"
	"errors"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	workerloops "github.com/kjet-dev/kjet/internal/workers"
)

// ComponentName names the controller in logs.
const ComponentName = "ttl-after-finished-controller"

// Options configure a Controller.
type Options struct {
	// Client reads and deletes Jobs. Required.
	Client kubernetes.Interface
	// Informers provides the Job informer; New registers it, Run starts the factory
	// (starting an already started factory is harmless). Required.
	Informers informers.SharedInformerFactory
	// Clock is the source of now() and of the timed requeues. Default: the real clock.
	Clock clock.WithTicker
}

// Controller deletes finished Jobs whose TTL has expired.
type Controller struct {
	client     kubernetes.Interface
	factory    informers.SharedInformerFactory
	clock      clock.WithTicker
	jobs       batchlisters.JobLister
	jobsSynced cache.DoneChecker
	queue      workqueue.TypedRateLimitingInterface[string]
}

// New builds a Controller and registers its handlers on the Job informer.
func New(opts Options) (*Controller, error) {
	if opts.Client == nil {
		return nil, errors.New("ttlafterfinished controller: Options.Client is required")
	}
	if opts.Informers == nil {
		return nil, errors.New("ttlafterfinished controller: Options.Informers is required")
	}
	c := &Controller{client: opts.Client, factory: opts.Informers, clock: opts.Clock}
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	c.queue = workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: "ttl_jobs_to_delete", Clock: c.clock},
	)
	inf := opts.Informers.Batch().V1().Jobs()
	c.jobs = inf.Lister()
	reg, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.jobChanged,
		UpdateFunc: func(_, obj any) { c.jobChanged(obj) },
	})
	if err != nil {
		return nil, fmt.Errorf("adding job event handler: %w", err)
	}
	// Synced once the handler has seen the initial list, not merely the store.
	c.jobsSynced = reg.HasSyncedChecker()
	return c, nil
}

// Run starts the informers and workers and blocks until ctx is done. It returns an
// error only if the caches could not sync.
func (c *Controller) Run(ctx context.Context, workers int) error {
	defer utilruntime.HandleCrash()
	if workers < 1 {
		workers = 1
	}
	defer c.queue.ShutDown()
	c.factory.Start(ctx.Done())
	if !cache.WaitFor(ctx, "", c.jobsSynced) {
		if ctx.Err() != nil {
			return nil
		}
		return errors.New("ttlafterfinished controller: caches did not sync")
	}
	workerloops.Run(ctx, []workerloops.Queue{c.queue}, workerloops.Loop{Workers: workers, Process: c.processNext})
	return nil
}

func (c *Controller) processNext(ctx context.Context) bool {
	return workerloops.ProcessNext(ctx, c.queue, "cleaning up job", func(ctx context.Context, key string) (workerloops.Result, error) {
		return workerloops.Result{}, c.processJob(ctx, key)
	})
}

func (c *Controller) jobChanged(obj any) {
	job, ok := obj.(*batchv1.Job)
	if !ok || job.DeletionTimestamp != nil || !needsCleanup(job) {
		return
	}
	key, err := cache.MetaNamespaceKeyFunc(job)
	if err != nil {
		return
	}
	c.queue.Add(key)
}

// processJob deletes the Job if its TTL has expired, or requeues it for when it will.
func (c *Controller) processJob(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return fmt.Errorf("splitting key %q: %w", key, err)
	}
	cached, err := c.jobs.Jobs(ns).Get(name)
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("getting job %s from cache: %w", key, err)
	}
	if expired, err := c.processTTL(ctx, cached); err != nil || !expired {
		return err
	}

	// The cache may be stale and the TTL is mutable: decide again on the live object.
	fresh, err := c.client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("getting job %s: %w", key, err)
	}
	if expired, err := c.processTTL(ctx, fresh); err != nil || !expired {
		return err
	}
	foreground := metav1.DeletePropagationForeground
	uid := fresh.UID
	klog.FromContext(ctx).V(4).Info("deleting job whose TTL after finished expired", "job", key)
	err = c.client.BatchV1().Jobs(ns).Delete(ctx, name, metav1.DeleteOptions{
		PropagationPolicy: &foreground,
		Preconditions:     &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting job %s: %w", key, err)
	}
	return nil
}

// processTTL reports whether the Job's TTL has expired; if it has not, it requeues the
// Job for the time left.
func (c *Controller) processTTL(ctx context.Context, job *batchv1.Job) (bool, error) {
	if job.DeletionTimestamp != nil || !needsCleanup(job) {
		return false, nil
	}
	now := c.clock.Now()
	left, err := timeLeft(job, now)
	if err != nil {
		return false, err
	}
	if left <= 0 {
		return true, nil
	}
	key, err := cache.MetaNamespaceKeyFunc(job)
	if err != nil {
		return false, fmt.Errorf("getting key of job: %w", err)
	}
	klog.FromContext(ctx).V(4).Info("job TTL not expired yet", "job", key, "left", left)
	c.queue.AddAfter(key, left)
	return false, nil
}

// needsCleanup: the Job has a TTL and has finished.
func needsCleanup(j *batchv1.Job) bool {
	return j.Spec.TTLSecondsAfterFinished != nil && finishTime(j) != nil
}

// finishTime is when the Job finished: the lastTransitionTime of its Complete=True or
// Failed=True condition (nil if it has not finished).
func finishTime(j *batchv1.Job) *metav1.Time {
	for i := range j.Status.Conditions {
		c := &j.Status.Conditions[i]
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return &c.LastTransitionTime
		}
	}
	return nil
}

// timeLeft is the time until the Job's TTL expires (negative or zero: expired).
func timeLeft(j *batchv1.Job, now time.Time) (time.Duration, error) {
	finished := finishTime(j)
	if finished == nil || finished.IsZero() {
		return 0, fmt.Errorf("unable to find the time when the Job %s/%s finished", j.Namespace, j.Name)
	}
	expireAt := finished.Add(time.Duration(*j.Spec.TTLSecondsAfterFinished) * time.Second)
	return expireAt.Sub(now), nil
}
