// Package garbagecollector is kjet's garbage collector: it deletes objects whose owners
// are gone and carries out the Foreground and Orphan propagation policies, as
// Kubernetes' garbage collector does.
//
// It watches the metadata of every resource kjet serves and keeps a graph of owners and
// dependents by UID. Then:
//   - an owner that disappears (Background deletion, or a dangling reference whose owner
//     never existed) has its dependents deleted once every owner of theirs is confirmed
//     gone by a live GET;
//   - an owner being deleted with the foregroundDeletion finalizer has its dependents
//     deleted, and loses the finalizer (so the API server removes it) only when no
//     dependent with blockOwnerDeletion remains;
//   - an owner being deleted with the orphan finalizer is removed from its dependents'
//     ownerReferences, then loses the finalizer.
//
// Nothing is kept outside the API: after a restart the graph is rebuilt from the
// informers and pending finalizers are processed as their objects are listed.
package garbagecollector

import (
	"context"
	"errors"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/kjet-dev/kjet/internal/cachetrim"
	workerloops "github.com/kjet-dev/kjet/internal/workers"
)

// ComponentName names the collector in logs.
const ComponentName = "garbage-collector-controller"

// Options configure a Collector.
type Options struct {
	// Metadata reads, patches and deletes objects of any resource. Required.
	Metadata metadata.Interface
	// Resources are watched: every resource kjet serves. Required.
	Resources []schema.GroupVersionResource
	// Kinds resolves an ownerReference's apiVersion and kind to the resource to GET.
	// A kind missing in the exact version is looked up in any version of its group.
	// Required.
	Kinds map[schema.GroupVersionKind]schema.GroupVersionResource
	// Clock drives the retry back-off of the work queues (if it is a
	// clock.WithTicker). Default: the real clock.
	Clock clock.Clock
	// ClusterScoped lists the resources that are not namespaced, so that owners of
	// those kinds are looked up without a namespace. Default: Kubernetes' built-in
	// cluster-scoped resources (nodes, namespaces, persistentvolumes, ...).
	ClusterScoped []schema.GroupResource
	// Ignored are resources of Resources that are not watched: their objects are
	// never collected. Default: events (core and events.k8s.io), as in Kubernetes.
	Ignored []schema.GroupResource
}

// Collector is the garbage collector.
type Collector struct {
	client        metadata.Interface
	resources     []schema.GroupVersionResource
	kinds         map[schema.GroupVersionKind]schema.GroupVersionResource
	kindOf        map[schema.GroupVersionResource]schema.GroupVersionKind
	clusterScoped map[schema.GroupResource]bool
	factory       metadatainformer.SharedInformerFactory
	synced        []cache.DoneChecker

	graph  *graph
	absent *absentCache

	// attemptToDelete holds UIDs of objects that may be garbage, of virtual owners to
	// verify, and of foreground owners that may be done.
	attemptToDelete workqueue.TypedRateLimitingInterface[types.UID]
	// attemptToOrphan holds UIDs of owners being deleted with the orphan finalizer.
	attemptToOrphan workqueue.TypedRateLimitingInterface[types.UID]
}

// New builds a Collector and registers a metadata informer for every resource.
func New(opts Options) (*Collector, error) {
	if opts.Metadata == nil {
		return nil, errors.New("garbage collector: Options.Metadata is required")
	}
	if len(opts.Resources) == 0 {
		return nil, errors.New("garbage collector: Options.Resources is required")
	}
	if opts.Kinds == nil {
		return nil, errors.New("garbage collector: Options.Kinds is required")
	}
	var tickerClock clock.WithTicker = clock.RealClock{}
	if wt, ok := opts.Clock.(clock.WithTicker); ok {
		tickerClock = wt
	}
	c := &Collector{
		client:        opts.Metadata,
		resources:     opts.Resources,
		kinds:         opts.Kinds,
		kindOf:        map[schema.GroupVersionResource]schema.GroupVersionKind{},
		clusterScoped: map[schema.GroupResource]bool{},
		factory:       metadatainformer.NewSharedInformerFactoryWithOptions(opts.Metadata, 0, metadatainformer.WithTransform(cachetrim.StripManagedFields)),
		absent:        newAbsentCache(absentCacheSize),
		attemptToDelete: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.DefaultTypedControllerRateLimiter[types.UID](),
			workqueue.TypedRateLimitingQueueConfig[types.UID]{Name: "garbage_collector_attempt_to_delete", Clock: tickerClock},
		),
		attemptToOrphan: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.DefaultTypedControllerRateLimiter[types.UID](),
			workqueue.TypedRateLimitingQueueConfig[types.UID]{Name: "garbage_collector_attempt_to_orphan", Clock: tickerClock},
		),
	}
	for gvk, gvr := range opts.Kinds {
		c.kindOf[gvr] = gvk
	}
	scoped := opts.ClusterScoped
	if scoped == nil {
		scoped = defaultClusterScoped
	}
	for _, gr := range scoped {
		c.clusterScoped[gr] = true
	}
	c.graph = newGraph(
		func(uid types.UID) { c.attemptToDelete.Add(uid) },
		func(uid types.UID) { c.attemptToOrphan.Add(uid) },
	)

	ignored := opts.Ignored
	if ignored == nil {
		ignored = defaultIgnored
	}
	for _, gvr := range opts.Resources {
		if slices.Contains(ignored, gvr.GroupResource()) {
			continue
		}
		inf := c.factory.ForResource(gvr).Informer()
		reg, err := inf.AddEventHandler(c.handlers(gvr))
		if err != nil {
			return nil, fmt.Errorf("adding event handler for %s: %w", gvr, err)
		}
		// The graph is complete only when every handler has seen its initial list,
		// not merely when the informers' stores are filled.
		c.synced = append(c.synced, reg.HasSyncedChecker())
	}
	return c, nil
}

// defaultIgnored are the resources Kubernetes' garbage collector leaves alone: events,
// written by the thousand (four for every pod a node starts) and owned by nothing.
// Watching them would cost a decode and a graph update per event, and a copy of every
// event's metadata in the informers' caches.
var defaultIgnored = []schema.GroupResource{{Resource: "events"}, {Group: "events.k8s.io", Resource: "events"}}

// defaultClusterScoped are Kubernetes' built-in cluster-scoped resources.
var defaultClusterScoped = []schema.GroupResource{
	{Resource: "nodes"}, {Resource: "namespaces"}, {Resource: "persistentvolumes"}, {Resource: "componentstatuses"},
	{Group: "storage.k8s.io", Resource: "storageclasses"}, {Group: "storage.k8s.io", Resource: "csidrivers"},
	{Group: "storage.k8s.io", Resource: "csinodes"}, {Group: "storage.k8s.io", Resource: "volumeattachments"},
	{Group: "scheduling.k8s.io", Resource: "priorityclasses"}, {Group: "node.k8s.io", Resource: "runtimeclasses"},
	{Group: "rbac.authorization.k8s.io", Resource: "clusterroles"}, {Group: "rbac.authorization.k8s.io", Resource: "clusterrolebindings"},
	{Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"}, {Group: "apiregistration.k8s.io", Resource: "apiservices"},
	{Group: "admissionregistration.k8s.io", Resource: "mutatingwebhookconfigurations"},
	{Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations"},
	{Group: "networking.k8s.io", Resource: "ingressclasses"}, {Group: "certificates.k8s.io", Resource: "certificatesigningrequests"},
}

// Run starts the informers and workers and blocks until ctx is done. It returns an
// error only if the caches could not sync.
func (c *Collector) Run(ctx context.Context, workers int) error {
	defer utilruntime.HandleCrash()
	if workers < 1 {
		workers = 1
	}
	defer c.attemptToDelete.ShutDown()
	defer c.attemptToOrphan.ShutDown()

	c.factory.Start(ctx.Done())
	defer c.factory.Shutdown()
	if !cache.WaitFor(ctx, "", c.synced...) {
		if ctx.Err() != nil {
			return nil
		}
		return errors.New("garbage collector: caches did not sync")
	}

	workerloops.Run(ctx, []workerloops.Queue{c.attemptToDelete, c.attemptToOrphan},
		workerloops.Loop{Workers: workers, Process: c.processDelete},
		workerloops.Loop{Workers: workers, Process: c.processOrphan})
	return nil
}

func (c *Collector) processDelete(ctx context.Context) bool {
	return workerloops.ProcessNext(ctx, c.attemptToDelete, "garbage collector: processing an object", func(ctx context.Context, uid types.UID) (workerloops.Result, error) {
		requeue, err := c.attemptToDeleteItem(ctx, uid)
		return workerloops.Result{RetryRateLimited: requeue}, err
	})
}

func (c *Collector) processOrphan(ctx context.Context) bool {
	return workerloops.ProcessNext(ctx, c.attemptToOrphan, "garbage collector: orphaning dependents", func(ctx context.Context, uid types.UID) (workerloops.Result, error) {
		return workerloops.Result{}, c.attemptToOrphanItem(ctx, uid)
	})
}

// handlers feed the graph from one resource's informer.
func (c *Collector) handlers(gvr schema.GroupVersionResource) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { c.observe(gvr, obj) },
		UpdateFunc: func(_, obj any) {
			c.observe(gvr, obj)
		},
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			m, ok := obj.(metav1.Object)
			if !ok {
				return
			}
			c.absent.add(m.GetUID())
			c.graph.forget(m.GetUID())
		},
	}
}

func (c *Collector) observe(gvr schema.GroupVersionResource, obj any) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	gvk := c.kindOf[gvr]
	c.graph.observe(gvr, identity{
		APIVersion: gvk.GroupVersion().String(),
		Kind:       gvk.Kind,
		Namespace:  m.GetNamespace(),
		Name:       m.GetName(),
		UID:        m.GetUID(),
	}, m)
}

// logger is the collector's logger for ctx.
func logger(ctx context.Context) klog.Logger {
	return klog.FromContext(ctx).WithName(ComponentName)
}
