// Package cli implements `kjet run`: apply a manifest, follow its Jobs and Pods to their
// end with live progress and logs, print a summary and exit with the outcome.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/utils/clock"
)

// Exit codes of kjet run.
const (
	ExitComplete    = 0   // every Job completed (and every Pod succeeded)
	ExitFailed      = 1   // some Job failed, or kjet could not do its work
	ExitBadInput    = 2   // the manifest could not be read or was rejected; nothing was created
	ExitInterrupted = 130 // Ctrl-C or SIGTERM: what was created was deleted
)

// Cluster is the API server kjet run talks to.
type Cluster struct {
	Config *rest.Config
	// Stop shuts an embedded server down (nil for an existing server).
	Stop func() error
	// Description says which server this is, for the first line of output.
	Description string
}

// Options configure one kjet run.
type Options struct {
	// File is the manifest to run; "-" reads standard input.
	File string
	// Namespace for objects that name none (default "default").
	Namespace string
	// Quiet shows only the final summary.
	Quiet bool
	// Terminal enables live progress lines and colours (stdout is a terminal).
	Terminal bool
	Stdin    io.Reader
	Out      io.Writer
	ErrOut   io.Writer
	// Connect finds or starts the API server; it is called after the manifest was read.
	Connect func(ctx context.Context) (*Cluster, error)
	// Clock measures elapsed time and paces redraws (default: real).
	Clock clock.WithTicker
	// Refresh is how often terminal progress is redrawn (default 200ms).
	Refresh time.Duration
	// LogDrain bounds how long kjet waits for the last log lines after the end (default 3s).
	LogDrain time.Duration
}

func (o *Options) defaults() {
	if o.Namespace == "" {
		o.Namespace = metav1.NamespaceDefault
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Refresh == 0 {
		o.Refresh = 200 * time.Millisecond
	}
	if o.LogDrain == 0 {
		o.LogDrain = 3 * time.Second
	}
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
}

// Run runs the manifest to its end and returns the process exit code. Cancelling ctx
// (Ctrl-C) deletes the Jobs and Pods it created and returns ExitInterrupted.
func Run(ctx context.Context, opts Options) int {
	opts.defaults()
	manifests, err := readManifests(opts.File, opts.Stdin)
	if err != nil {
		fmt.Fprintf(opts.ErrOut, "error: %v\n", err)
		return ExitBadInput
	}
	cluster, err := opts.Connect(ctx)
	if err != nil {
		fmt.Fprintf(opts.ErrOut, "error: %v\n", err)
		return ExitFailed
	}
	if cluster.Stop != nil {
		defer func() {
			if err := cluster.Stop(); err != nil {
				fmt.Fprintf(opts.ErrOut, "error: stopping the embedded server: %v\n", err)
			}
		}()
	}
	if !opts.Quiet && cluster.Description != "" {
		fmt.Fprintln(opts.Out, cluster.Description)
	}
	return run(ctx, opts, cluster.Config, manifests)
}

func run(ctx context.Context, opts Options, cfg *rest.Config, manifests []manifest) int {
	// The typed client (the follower's informers, logs, deletes) speaks protobuf, as
	// Kubernetes' own components do: cheaper to encode and decode than JSON on both ends.
	typed := rest.CopyConfig(cfg)
	typed.ContentType = runtime.ContentTypeProtobuf
	typed.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	client, err := kubernetes.NewForConfig(typed)
	if err != nil {
		fmt.Fprintf(opts.ErrOut, "error: %v\n", err)
		return ExitFailed
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		fmt.Fprintf(opts.ErrOut, "error: %v\n", err)
		return ExitFailed
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		fmt.Fprintf(opts.ErrOut, "error: %v\n", err)
		return ExitFailed
	}
	a := &applier{
		dynamic:   dyn,
		mapper:    restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco)),
		namespace: opts.Namespace,
	}
	objs, err := a.createAll(ctx, manifests)
	for _, c := range objs {
		if !opts.Quiet {
			fmt.Fprintf(opts.Out, "%s/%s created\n", kindResource(c.obj.GetKind(), c.obj.GroupVersionKind().Group), c.obj.GetName())
		}
	}
	if err != nil {
		fmt.Fprintln(opts.ErrOut, errorText(err))
		deleteCreated(objs, opts.ErrOut)
		if errors.Is(err, errBadInput) {
			return ExitBadInput
		}
		return ExitFailed
	}
	var targets []target
	for _, c := range objs {
		if c.obj.GetKind() == "Job" || c.obj.GetKind() == "Pod" {
			targets = append(targets, target{kind: c.obj.GetKind(), namespace: c.obj.GetNamespace(), name: c.obj.GetName(), uid: c.obj.GetUID()})
		}
	}
	if len(targets) == 0 {
		return ExitComplete
	}
	code, interrupted := follow(ctx, opts, client, targets)
	if interrupted {
		deleteCreated(objs, opts.ErrOut)
		return ExitInterrupted
	}
	return code
}

// follow watches the targets until all have finished or ctx ends.
func follow(ctx context.Context, opts Options, client kubernetes.Interface, targets []target) (code int, interrupted bool) {
	followCtx, cancel := context.WithCancel(ctx)
	f := newFollower(client, targets, opts.Clock)
	defer func() {
		cancel()
		f.shutdown()
	}()
	if err := f.start(followCtx); err != nil {
		if ctx.Err() != nil {
			return ExitInterrupted, true
		}
		fmt.Fprintf(opts.ErrOut, "error: %v\n", err)
		return ExitFailed, false
	}
	lines := make(chan logLine, 256)
	streams := &logStreamer{client: client, lines: lines, started: map[string]bool{}}
	d := newDisplay(opts.Out, opts.Terminal, opts.Quiet)
	ticker := opts.Clock.NewTicker(opts.Refresh)
	defer ticker.Stop()

	for {
		select {
		case <-ctx.Done():
			jobs, pods := f.snapshot()
			d.summary(jobs, pods, opts.Clock.Now())
			fmt.Fprintln(opts.ErrOut, "interrupted: deleting what this run created")
			return ExitInterrupted, true
		case l := <-lines:
			d.log(l)
			continue
		case <-ticker.C():
			if !opts.Terminal {
				continue
			}
		case <-f.changed:
		}
		jobs, pods := f.snapshot()
		for _, v := range jobs {
			for _, p := range v.pods {
				streams.observe(followCtx, p)
			}
		}
		for _, v := range pods {
			if v.pod != nil {
				streams.observe(followCtx, v.pod)
			}
		}
		d.update(jobs, pods, opts.Clock.Now())
		if allDone, anyFailed := finished(jobs, pods); allDone {
			drainLogs(streams, lines, d, opts.LogDrain)
			jobs, pods = f.snapshot()
			d.summary(jobs, pods, opts.Clock.Now())
			if anyFailed {
				return ExitFailed, false
			}
			return ExitComplete, false
		}
	}
}

// drainLogs prints the log lines still arriving after the targets finished.
func drainLogs(streams *logStreamer, lines chan logLine, d *display, timeout time.Duration) {
	done := make(chan struct{})
	go func() { streams.wait(timeout); close(done) }()
	for {
		select {
		case l := <-lines:
			d.log(l)
		case <-done:
			for {
				select {
				case l := <-lines:
					d.log(l)
				default:
					return
				}
			}
		}
	}
}

func finished(jobs []jobView, pods []podView) (allDone, anyFailed bool) {
	allDone = true
	for _, v := range jobs {
		done, failed := v.finished()
		allDone = allDone && done
		anyFailed = anyFailed || failed
	}
	for _, v := range pods {
		done, failed := v.finished()
		allDone = allDone && done
		anyFailed = anyFailed || failed
	}
	return allDone, anyFailed
}

// deleteCreated removes what this run created, newest first; Jobs and their pods go
// with background propagation.
func deleteCreated(objs []created, errOut io.Writer) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	background := metav1.DeletePropagationBackground
	for i := len(objs) - 1; i >= 0; i-- {
		c := objs[i]
		err := c.resource.Delete(ctx, c.obj.GetName(), metav1.DeleteOptions{PropagationPolicy: &background})
		if err != nil {
			fmt.Fprintf(errOut, "error: deleting %s %s: %v\n", c.obj.GetKind(), c.obj.GetName(), err)
			continue
		}
		fmt.Fprintf(errOut, "%s/%s deleted\n", kindResource(c.obj.GetKind(), c.obj.GroupVersionKind().Group), c.obj.GetName())
	}
}

// kindResource renders kubectl's "job.batch" style name of a kind.
func kindResource(kind, group string) string {
	name := strings.ToLower(kind)
	if group != "" {
		name += "." + group
	}
	return name
}

// errorText strips the bad-input marker from an error's text.
func errorText(err error) string {
	if rest, ok := strings.CutPrefix(err.Error(), errBadInput.Error()+": "); ok {
		return rest
	}
	return "error: " + err.Error()
}
