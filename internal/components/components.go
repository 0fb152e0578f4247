// Package components assembles the in-process parts of `kjet server` that talk to the API
// through client-go, as their Kubernetes counterparts do: the controller manager (Job,
// CronJob, TTL-after-finished, garbage collector), the scheduler and this machine's node
// agent with its process runtime. internal/server starts them once the API is ready.
package components

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/kjet-dev/kjet/internal/agent"
	"github.com/kjet-dev/kjet/internal/cachetrim"
	"github.com/kjet-dev/kjet/internal/controller/cronjob"
	"github.com/kjet-dev/kjet/internal/controller/garbagecollector"
	"github.com/kjet-dev/kjet/internal/controller/job"
	"github.com/kjet-dev/kjet/internal/controller/ttlafterfinished"
	"github.com/kjet-dev/kjet/internal/registry"
	"github.com/kjet-dev/kjet/internal/runtime/process"
	"github.com/kjet-dev/kjet/internal/scheduler"
	"github.com/kjet-dev/kjet/internal/server"
)

// Defaults for Options.
const (
	// DefaultJobSyncDelay batches the Job controller's reaction to pod changes. Kubernetes
	// uses 1 s to spare a large cluster's API server; on one machine a short delay keeps
	// a Job's end close to its last pod's end, and the batching still merges bursts.
	DefaultJobSyncDelay = 50 * time.Millisecond
	// DefaultWorkers is the number of workers of each controller.
	DefaultWorkers = 4
	// ShutdownGrace is what containers get to stop when the server shuts down cleanly.
	ShutdownGrace = 5 * time.Second
)

// Options configure the components.
type Options struct {
	// DataDir is the server's data directory: pods/ and supervisor/ live in it. Required.
	DataDir string
	// NodeName is this machine's Node. Required.
	NodeName string
	// Version is kjet's version (the node's runtime version).
	Version string
	// Resources are every served resource; the garbage collector watches them all.
	Resources []registry.Resource
	// MaxPods is the node's pod capacity (default 110).
	MaxPods int
	// JobBackoffBase is the Job controller's pod-recreation back-off base (default 10 s,
	// Kubernetes'); e2e tests shorten it.
	JobBackoffBase time.Duration
	// JobSyncDelay: see DefaultJobSyncDelay.
	JobSyncDelay time.Duration
	// CronClock drives the CronJob controller (default real time). e2e tests pass a
	// faster clock so that minute schedules fire in seconds; the code path is the same.
	CronClock clock.WithTicker
	// SupervisorArgv overrides how the process runtime's supervisor is started (tests).
	SupervisorArgv []string
}

// Set is the assembled components of one server.
type Set struct {
	opts  Options
	agent atomic.Pointer[agent.Agent]
}

// New checks opts and returns the set; nothing runs until the server starts it.
func New(opts Options) (*Set, error) {
	if opts.DataDir == "" || opts.NodeName == "" {
		return nil, errors.New("components: DataDir and NodeName are required")
	}
	if opts.JobSyncDelay == 0 {
		opts.JobSyncDelay = DefaultJobSyncDelay
	}
	return &Set{opts: opts}, nil
}

// Components returns what internal/server runs after the API is ready: the controller
// manager, the scheduler and the node agent, as one component because they share one
// set of informers.
func (s *Set) Components() []server.Component {
	return []server.Component{{Name: "components", Run: s.run}}
}

// Pods serves pods' log/exec/attach subresources through the node agent once it runs.
func (s *Set) Pods() server.PodConnector { return podConnector{s} }

type podConnector struct{ s *Set }

func (p podConnector) ServePodSubresource(w http.ResponseWriter, r *http.Request, pod *corev1.Pod, sub string) {
	a := p.s.agent.Load()
	if a == nil {
		status := metav1.Status{
			TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
			Status:   metav1.StatusFailure, Code: http.StatusServiceUnavailable,
			Reason: metav1.StatusReasonServiceUnavailable, Message: "the node agent is starting",
		}
		writeStatus(w, status)
		return
	}
	a.ServePodSubresource(w, r, pod, sub)
}

// run runs the controller manager, the scheduler and the node agent until ctx ends. One
// informer factory serves the three, so each pod change comes from the API server and
// is decoded once, not once per component. Each keeps its own client for writes
// (and user agent); the node agent could as well run with informers of its own, as one
// joining over the network would.
func (s *Set) run(ctx context.Context, cfg *rest.Config) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	client, err := kubernetes.NewForConfig(typedConfig(cfg, "kjet-informers"))
	if err != nil {
		return fmt.Errorf("informers client: %w", err)
	}
	factory := cachetrim.NewInformerFactory(client)
	controllers, err := s.newControllers(cfg, factory)
	if err != nil {
		return err
	}
	sched, err := s.newScheduler(cfg, factory)
	if err != nil {
		return err
	}
	// The node agent starts after its container runtime is up, on the pod informer
	// already running; it must exist before the factory starts.
	pods := factory.Core().V1().Pods().Informer()
	factory.Start(ctx.Done())
	defer func() { cancel(); factory.Shutdown() }()
	return runAll(ctx,
		named("controller-manager", controllers),
		named("scheduler", sched.Run),
		named("node-agent", func(ctx context.Context) error { return s.runAgent(ctx, cfg, pods) }),
	)
}

// newControllers builds the controller manager's controllers on factory and returns
// what runs them.
func (s *Set) newControllers(cfg *rest.Config, factory informers.SharedInformerFactory) (func(context.Context) error, error) {
	client, err := kubernetes.NewForConfig(typedConfig(cfg, "kjet-controller-manager"))
	if err != nil {
		return nil, fmt.Errorf("controller-manager client: %w", err)
	}
	jobs, err := job.New(job.Options{Client: client, Informers: factory, BackoffBase: s.opts.JobBackoffBase, SyncDelay: s.opts.JobSyncDelay})
	if err != nil {
		return nil, fmt.Errorf("job controller: %w", err)
	}
	cron, err := cronjob.New(cronjob.Options{Client: client, Informers: factory, Clock: s.opts.CronClock})
	if err != nil {
		return nil, fmt.Errorf("cronjob controller: %w", err)
	}
	ttl, err := ttlafterfinished.New(ttlafterfinished.Options{Client: client, Informers: factory})
	if err != nil {
		return nil, fmt.Errorf("ttl-after-finished controller: %w", err)
	}
	meta, err := metadata.NewForConfig(withUserAgent(cfg, "kjet-garbage-collector"))
	if err != nil {
		return nil, fmt.Errorf("garbage collector client: %w", err)
	}
	gcOpts := garbagecollector.Options{Metadata: meta, Kinds: map[schema.GroupVersionKind]schema.GroupVersionResource{}}
	for _, r := range s.opts.Resources {
		gvr := r.GroupVersionResource
		gcOpts.Resources = append(gcOpts.Resources, gvr)
		gcOpts.Kinds[gvr.GroupVersion().WithKind(r.Kind)] = gvr
		if !r.Namespaced {
			gcOpts.ClusterScoped = append(gcOpts.ClusterScoped, gvr.GroupResource())
		}
	}
	gc, err := garbagecollector.New(gcOpts)
	if err != nil {
		return nil, fmt.Errorf("garbage collector: %w", err)
	}
	return func(ctx context.Context) error {
		return runAll(ctx,
			func(ctx context.Context) error { return jobs.Run(ctx, DefaultWorkers) },
			func(ctx context.Context) error { return cron.Run(ctx, DefaultWorkers) },
			func(ctx context.Context) error { return ttl.Run(ctx, DefaultWorkers) },
			func(ctx context.Context) error { return gc.Run(ctx, DefaultWorkers) },
		)
	}, nil
}

func (s *Set) newScheduler(cfg *rest.Config, factory informers.SharedInformerFactory) (*scheduler.Scheduler, error) {
	client, err := kubernetes.NewForConfig(typedConfig(cfg, "kjet-scheduler"))
	if err != nil {
		return nil, fmt.Errorf("scheduler client: %w", err)
	}
	sched, err := scheduler.New(scheduler.Options{Client: client, Informers: factory})
	if err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	return sched, nil
}

// runAgent starts the process runtime and runs the node agent on the shared pod
// informer.
func (s *Set) runAgent(ctx context.Context, cfg *rest.Config, pods cache.SharedIndexInformer) error {
	client, err := kubernetes.NewForConfig(typedConfig(cfg, "kjet-node-agent"))
	if err != nil {
		return fmt.Errorf("node agent client: %w", err)
	}
	rt, err := process.New(ctx, process.Options{
		Dir:            filepath.Join(s.opts.DataDir, "supervisor"),
		SupervisorArgv: s.opts.SupervisorArgv,
	})
	if err != nil {
		return fmt.Errorf("starting the process runtime: %w", err)
	}
	defer func() {
		// A clean shutdown stops the node's containers with the supervisor; a crash
		// (kill -9) never gets here, and the supervisor keeps them running.
		stopCtx, cancel := context.WithTimeout(context.Background(), ShutdownGrace+5*time.Second)
		defer cancel()
		_ = rt.Shutdown(stopCtx, ShutdownGrace)
		rt.Close()
	}()
	a, err := agent.New(agent.Options{
		NodeName: s.opts.NodeName,
		Client:   client,
		Pods:     pods,
		Runtime:  rt,
		PodsDir:  filepath.Join(s.opts.DataDir, "pods"),
		MaxPods:  s.opts.MaxPods,
		Version:  s.opts.Version,
	})
	if err != nil {
		return fmt.Errorf("node agent: %w", err)
	}
	s.agent.Store(a)
	defer s.agent.Store(nil)
	return a.Run(ctx)
}

// runAll runs fns until ctx ends; the first to fail cancels the others. It waits for all.
func runAll(ctx context.Context, fns ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(fns))
	for _, fn := range fns {
		go func() { errs <- fn(ctx) }()
	}
	var first error
	for range fns {
		err := <-errs
		if err != nil && !errors.Is(err, context.Canceled) && first == nil {
			first = err
			cancel()
		}
	}
	return first
}

// named labels fn's errors with the part of the server it runs, and reports a part that
// stops before ctx ends.
func named(name string, fn func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		err := fn(ctx)
		switch {
		case err != nil:
			return fmt.Errorf("%s: %w", name, err)
		case ctx.Err() == nil:
			return fmt.Errorf("%s: %w", name, errStoppedEarly)
		}
		return nil
	}
}

// errStoppedEarly is returned for a part of the server that stopped before the server.
var errStoppedEarly = errors.New("components: stopped before the server")

// typedConfig is withUserAgent for a typed clientset: it speaks protobuf, as Kubernetes'
// own components do, which costs both ends a fraction of JSON's encoding and decoding
// (patches keep their JSON patch types).
func typedConfig(cfg *rest.Config, agent string) *rest.Config {
	c := withUserAgent(cfg, agent)
	c.ContentType = runtime.ContentTypeProtobuf
	c.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	return c
}

func withUserAgent(cfg *rest.Config, agent string) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.UserAgent = agent
	c.QPS, c.Burst = 500, 1000
	return c
}
