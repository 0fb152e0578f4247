// Package agent is kjet's node agent: the kubelet's role for one node. It registers the
// Node and keeps its Lease fresh, watches the pods bound to the node and runs each one
// through a runtime.Runtime — volumes, environment, init containers and sidecars,
// restart policies with crash-loop back-off, probes, deadlines and graceful deletion —
// writing pod status the way the kubelet does, and serves the pods' log (and exec,
// attach) subresources. Containers outlive the agent: after a restart it finds them
// again through Runtime.List and re-runs nothing that already ran.
package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/kjet-dev/kjet/internal/cachetrim"
	"github.com/kjet-dev/kjet/internal/runtime"
)

// podIP is the address every pod and the node report: pods are host processes.
const podIP = "127.0.0.1"

// DefaultStartedStatusDelay is Options.StartedStatusDelay's default. A `true` exits
// within a millisecond, but on a busy machine its exit reaches the agent 5-20 ms after its
// start; reporting Running that much later is invisible to anyone watching the pod.
const DefaultStartedStatusDelay = 20 * time.Millisecond

// Options configure an Agent.
type Options struct {
	// NodeName is the Node this agent registers and runs pods for. Required.
	NodeName string
	// Client talks to the API server. Required.
	Client kubernetes.Interface
	// Pods, when set, is a pod informer shared with other components of the process;
	// the caller starts it. It may hold every pod: the agent acts only on those bound to
	// NodeName. Nil: Run watches the pods bound to NodeName through Client with an
	// informer of its own (what an agent joining over the network does).
	Pods cache.SharedIndexInformer
	// Runtime runs the containers. Required.
	Runtime runtime.Runtime
	// PodsDir holds one directory per pod, pods/<ns>_<name>_<uid>/, with its volumes
	// and logs/<container>/<attempt>.log. Required.
	PodsDir string
	// Clock drives back-off, probes, deadlines and heartbeats; default the real clock.
	Clock clock.Clock
	// MaxPods is the node's pod capacity; default 110.
	MaxPods int
	// Version is kjet's version, shown as containerRuntimeVersion
	// "kjet-process://<Version>"; default "dev".
	Version string
	// KubeletVersion is the node's reported kubelet version; default "v1.37.2".
	KubeletVersion string
	// LeaseDuration is the node Lease's leaseDurationSeconds (default 40 s); it is
	// renewed every LeaseRenewInterval (default 10 s).
	LeaseDuration, LeaseRenewInterval time.Duration
	// StatusInterval is how often the Node status is refreshed; default 60 s.
	StatusInterval time.Duration
	// ConfigRetryInterval is how long a container waiting on a missing ConfigMap,
	// Secret or volume waits before the agent looks again; default 10 s.
	ConfigRetryInterval time.Duration
	// StartedStatusDelay is how long the agent waits, after starting containers, for one
	// of them to exit before reporting them running: a container that exits at once then
	// costs one status write instead of two (and the pod never shows Running, as with
	// the kubelet). Default DefaultStartedStatusDelay; negative disables it.
	StartedStatusDelay time.Duration
	// StatusWriters is how many pods' statuses are written to the API at once; default
	// DefaultStatusWriters.
	StatusWriters int
	// Logger receives the agent's own diagnostics; default slog.Default().
	Logger *slog.Logger
}

// Agent runs the pods bound to one node. Create it with New and start it with Run.
type Agent struct {
	opts     Options
	client   kubernetes.Interface
	rt       runtime.Runtime
	clock    clock.Clock
	log      *slog.Logger
	recorder record.EventRecorder
	// statuses writes the pods' statuses; set by Run before any pod worker starts.
	statuses *statusManager

	// nodeAllocatable is what the node offers, for resourceFieldRef defaults.
	nodeAllocatable corev1.ResourceList
	gpus            *gpuAllocator

	// mu guards workers, owners and adopted. Lock order: Agent.mu before podWorker.mu;
	// neither is held while calling the runtime or the API.
	mu sync.Mutex
	// workers holds the goroutine running each pod, by pod UID.
	workers map[types.UID]*podWorker
	// owners maps container IDs to their pod, so exits reach the right worker.
	owners map[string]types.UID
	// adopted holds containers found by Runtime.List at start, by pod UID, until the
	// pod's worker takes them.
	adopted map[types.UID][]runtime.ContainerStatus
	// ctx and wg bound the workers' lifetimes; set by Run.
	ctx context.Context
	wg  sync.WaitGroup
}

// New checks the options, fills in defaults and returns an Agent.
func New(opts Options) (*Agent, error) {
	switch {
	case opts.NodeName == "":
		return nil, errors.New("agent: Options.NodeName is required")
	case opts.Client == nil:
		return nil, errors.New("agent: Options.Client is required")
	case opts.Runtime == nil:
		return nil, errors.New("agent: Options.Runtime is required")
	case opts.PodsDir == "":
		return nil, errors.New("agent: Options.PodsDir is required")
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.MaxPods <= 0 {
		opts.MaxPods = 110
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if opts.KubeletVersion == "" {
		opts.KubeletVersion = "v1.37.2"
	}
	if opts.LeaseDuration <= 0 {
		opts.LeaseDuration = 40 * time.Second
	}
	if opts.LeaseRenewInterval <= 0 {
		opts.LeaseRenewInterval = 10 * time.Second
	}
	if opts.StatusInterval <= 0 {
		opts.StatusInterval = 60 * time.Second
	}
	if opts.ConfigRetryInterval <= 0 {
		opts.ConfigRetryInterval = 10 * time.Second
	}
	if opts.StartedStatusDelay == 0 {
		opts.StartedStatusDelay = DefaultStartedStatusDelay
	}
	if opts.StatusWriters <= 0 {
		opts.StatusWriters = DefaultStatusWriters
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	a := &Agent{
		opts:    opts,
		client:  opts.Client,
		rt:      opts.Runtime,
		clock:   opts.Clock,
		log:     opts.Logger.With("node", opts.NodeName),
		workers: map[types.UID]*podWorker{},
		owners:  map[string]types.UID{},
		adopted: map[types.UID][]runtime.ContainerStatus{},
	}
	devices := gpuIndexes()
	a.gpus = newGPUAllocator(devices)
	a.nodeAllocatable = nodeCapacity(opts.MaxPods, len(devices))
	return a, nil
}

// Run registers the Node, heartbeats its Lease and runs the pods bound to it until ctx
// ends. Containers keep running when Run returns; the next Run finds them again.
func (a *Agent) Run(ctx context.Context) error {
	if err := os.MkdirAll(a.opts.PodsDir, 0o755); err != nil {
		return fmt.Errorf("creating pods directory: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: a.client.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	a.recorder = broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "kubelet", Host: a.opts.NodeName})

	node, err := a.registerNode(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // shut down before the API answered
		}
		return err
	}

	// Subscribe to exits before listing, so no exit falls between the two.
	exited := a.rt.Exited(ctx)
	existing, err := a.rt.List(ctx)
	if err != nil {
		return fmt.Errorf("listing containers: %w", err)
	}
	a.mu.Lock()
	a.ctx = ctx
	for _, st := range existing {
		uid := types.UID(st.Config.PodUID)
		a.adopted[uid] = append(a.adopted[uid], st)
		a.owners[st.ID] = uid
		if st.State == runtime.StateRunning {
			a.gpus.claim(st.ID, st.Config.GPUs)
		}
	}
	a.mu.Unlock()

	// A fresh queue per Run: a queue shut down by the last Run takes nothing more.
	a.statuses = newStatusManager(a.client, a.clock, a.log, a.opts.StatusWriters)
	var loops sync.WaitGroup
	defer loops.Wait()
	defer cancel()
	loops.Add(3)
	go func() { defer loops.Done(); a.dispatchExits(ctx, exited) }()
	go func() { defer loops.Done(); a.heartbeat(ctx, node) }()
	go func() { defer loops.Done(); a.statuses.run(ctx) }()

	podInformer := a.opts.Pods
	if podInformer == nil {
		factory := cachetrim.NewInformerFactory(a.client,
			informers.WithTweakListOptions(func(o *metav1.ListOptions) {
				o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", a.opts.NodeName).String()
			}))
		podInformer = factory.Core().V1().Pods().Informer()
		factory.Start(ctx.Done())
		defer func() { cancel(); factory.Shutdown() }()
	}
	reg, err := podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    a.podChanged,
		UpdateFunc: func(_, obj any) { a.podChanged(obj) },
		DeleteFunc: a.podDeleted,
	})
	if err != nil {
		return fmt.Errorf("watching pods: %w", err)
	}
	defer func() { _ = podInformer.RemoveEventHandler(reg) }()
	// Wait until every pod of the initial list reached a worker, so the containers
	// left over are truly orphans.
	if !cache.WaitFor(ctx, "", podInformer.HasSyncedChecker(), reg.HasSyncedChecker()) {
		a.waitWorkers()
		return nil
	}
	a.removeOrphans(ctx)

	<-ctx.Done()
	a.waitWorkers()
	return nil
}

func (a *Agent) waitWorkers() { a.wg.Wait() }

// podDir is the pod's scratch directory.
func (a *Agent) podDir(pod *corev1.Pod) string {
	return filepath.Join(a.opts.PodsDir, fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID))
}

// logPath is where one attempt of a container logs: logs/<container>_<attempt>.log in
// the pod's directory (a container name has no "_"). Every container of the pod logs
// into that one directory: creating a directory is a journaled metadata write that
// costs ~150 us of CPU on ext4 here, a tenth of what the supervisor spends on a pod.
func (a *Agent) logPath(pod *corev1.Pod, container string, attempt int) string {
	return filepath.Join(a.podDir(pod), "logs", fmt.Sprintf("%s_%d.log", container, attempt))
}

// readLogPath is logPath, unless only the file an older kjet wrote exists
// (logs/<container>/<attempt>.log): pods that ran before an upgrade keep their logs.
func (a *Agent) readLogPath(pod *corev1.Pod, container string, attempt int) string {
	p := a.logPath(pod, container, attempt)
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		legacy := filepath.Join(a.podDir(pod), "logs", container, fmt.Sprintf("%d.log", attempt))
		if _, err := os.Stat(legacy); err == nil {
			return legacy
		}
	}
	return p
}

func (a *Agent) podChanged(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || pod.Spec.NodeName != a.opts.NodeName {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ctx == nil || a.ctx.Err() != nil {
		return
	}
	w, ok := a.workers[pod.UID]
	if !ok {
		w = newPodWorker(a, pod, a.adopted[pod.UID])
		delete(a.adopted, pod.UID)
		a.workers[pod.UID] = w
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			w.run(a.ctx)
			a.mu.Lock()
			if a.workers[pod.UID] == w {
				delete(a.workers, pod.UID)
			}
			a.mu.Unlock()
		}()
		return
	}
	w.update(pod)
}

func (a *Agent) podDeleted(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	a.mu.Lock()
	w := a.workers[pod.UID]
	a.mu.Unlock()
	if w != nil {
		w.markGone(pod)
	}
}

// registerContainer records which pod owns a container ID before it starts.
func (a *Agent) registerContainer(id string, uid types.UID) {
	a.mu.Lock()
	a.owners[id] = uid
	a.mu.Unlock()
}

func (a *Agent) forgetContainer(id string) {
	a.mu.Lock()
	delete(a.owners, id)
	a.mu.Unlock()
}

// dispatchExits hands each container exit to its pod's worker.
func (a *Agent) dispatchExits(ctx context.Context, exited <-chan string) {
	for {
		select {
		case <-ctx.Done():
			return
		case id, ok := <-exited:
			if !ok {
				return
			}
			a.mu.Lock()
			uid, known := a.owners[id]
			a.mu.Unlock()
			if !known {
				st, err := a.rt.Status(ctx, id)
				if err != nil {
					continue
				}
				uid = types.UID(st.Config.PodUID)
			}
			a.mu.Lock()
			w := a.workers[uid]
			a.mu.Unlock()
			if w != nil {
				w.containerExited(id)
			}
		}
	}
}

// removeOrphans stops and forgets containers of pods the API no longer has for this
// node (deleted while kjet was down).
func (a *Agent) removeOrphans(ctx context.Context) {
	a.mu.Lock()
	var orphans []runtime.ContainerStatus
	for uid, list := range a.adopted {
		if _, ok := a.workers[uid]; ok {
			continue
		}
		orphans = append(orphans, list...)
		delete(a.adopted, uid)
	}
	a.mu.Unlock()
	for _, st := range orphans {
		if st.State == runtime.StateRunning {
			if err := a.rt.Stop(ctx, st.ID, 0); err != nil && !errors.Is(err, runtime.ErrNotFound) {
				a.log.Warn("stopping orphaned container", "container", st.ID, "err", err)
			}
		}
		if err := a.rt.Remove(ctx, st.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			a.log.Warn("removing orphaned container", "container", st.ID, "err", err)
		}
		a.forgetContainer(st.ID)
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: st.Config.PodNamespace, Name: st.Config.PodName, UID: types.UID(st.Config.PodUID)}}
		if st.Config.PodName != "" {
			_ = os.RemoveAll(a.podDir(pod))
		}
	}
}
