package main

import (
	"context"
	"fmt"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// podWatcher follows one watch on the bench namespace's pods and wakes whoever waits for
// a pod to end (phase Succeeded or Failed).
type podWatcher struct {
	mu sync.Mutex // guards waiting and ended
	// waiting maps a pod name to the channel that receives its final phase.
	waiting map[string]chan corev1.PodPhase
	// ended holds final phases that arrived before anyone waited.
	ended map[string]corev1.PodPhase
}

// watchPods starts the watch; the goroutine ends when ctx ends, and done is closed then.
func watchPods(ctx context.Context, cs kubernetes.Interface) (*podWatcher, <-chan struct{}, error) {
	pods := cs.CoreV1().Pods(benchNamespace)
	list, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("listing pods: %w", err)
	}
	w, err := pods.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		return nil, nil, fmt.Errorf("watching pods: %w", err)
	}
	pw := &podWatcher{waiting: map[string]chan corev1.PodPhase{}, ended: map[string]corev1.PodPhase{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer w.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.ResultChan():
				if !ok {
					return
				}
				if p, ok := ev.Object.(*corev1.Pod); ok && (p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed) {
					pw.end(p.Name, p.Status.Phase)
				}
			}
		}
	}()
	return pw, done, nil
}

func (pw *podWatcher) end(name string, phase corev1.PodPhase) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	if ch, ok := pw.waiting[name]; ok {
		delete(pw.waiting, name)
		ch <- phase
		return
	}
	pw.ended[name] = phase
}

// expect registers interest in name's end; call it before creating the pod.
func (pw *podWatcher) expect(name string) <-chan corev1.PodPhase {
	ch := make(chan corev1.PodPhase, 1)
	pw.mu.Lock()
	defer pw.mu.Unlock()
	if phase, ok := pw.ended[name]; ok {
		delete(pw.ended, name)
		ch <- phase
		return ch
	}
	pw.waiting[name] = ch
	return ch
}

func truePod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "main", Image: "busybox", Command: []string{"true"}}},
		},
	}
}

// concurrently runs op(i) for i in [0,n) over c goroutines and returns the wall time and
// the first error.
func concurrently(n, c int, op func(i int) error) (time.Duration, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	start := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := op(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start), first
}

func spawnTrue(n, c int) (time.Duration, error) {
	return concurrently(n, c, func(int) error {
		if err := exec.Command("true").Run(); err != nil {
			return fmt.Errorf("running true: %w", err)
		}
		return nil
	})
}

// podOverhead creates bare pods running `true` and waits (watch) for each to succeed, at
// concurrency 1 and 8, against os/exec of `true` at the same concurrency.
func (b *bench) podOverhead(ctx context.Context) error {
	return b.withServer(ctx, "pods", func(s *server) error {
		cs, _, err := s.client()
		if err != nil {
			return err
		}
		wctx, cancel := context.WithCancel(ctx)
		pw, done, err := watchPods(wctx, cs)
		if err != nil {
			cancel()
			return err
		}
		defer func() { cancel(); <-done }()
		pods := cs.CoreV1().Pods(benchNamespace)
		runPod := func(name string) error {
			ended := pw.expect(name)
			if _, err := pods.Create(ctx, truePod(name), metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("creating pod %s: %w", name, err)
			}
			select {
			case phase := <-ended:
				if phase != corev1.PodSucceeded {
					return fmt.Errorf("pod %s ended %s", name, phase)
				}
				return nil
			case <-time.After(60 * time.Second):
				return fmt.Errorf("pod %s did not end within 60s", name)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		// One pod first: the node's first pod pays one-off costs.
		if err := runPod("warm"); err != nil {
			return err
		}
		for _, c := range []int{1, 8} {
			r0, err := storeRevision(ctx, cs)
			if err != nil {
				return err
			}
			wall, err := concurrently(b.opts.Pods, c, func(i int) error { return runPod(fmt.Sprintf("true-c%d-%d", c, i)) })
			if err != nil {
				return err
			}
			r1, err := storeRevision(ctx, cs)
			if err != nil {
				return err
			}
			// The baseline is cheap and noisy: run more of it, median over rounds.
			baseN := max(b.opts.Pods, 200)
			var bases []time.Duration
			for r := 0; r < b.opts.Rounds; r++ {
				d, err := spawnTrue(baseN, c)
				if err != nil {
					return err
				}
				bases = append(bases, d/time.Duration(baseN))
			}
			per, base := wall/time.Duration(b.opts.Pods), median(bases)
			b.rows = append(b.rows, row{
				Scenario: "5 pod overhead", Metric: fmt.Sprintf("bare Pod `true` create to Succeeded, concurrency %d, wall per pod", c),
				Figure: ms(per), Baseline: ms(base) + " (os/exec `true`)", Ratio: ratio(float64(per), float64(base)),
				Target: "<= 1.5x", Met: met(float64(per) <= 1.5*float64(base)),
				Notes: fmt.Sprintf("%d pods, %s wall; baseline %d spawns x %d rounds; %s", b.opts.Pods, ms(wall), baseN, b.opts.Rounds,
					writesPer(r0, r1, b.opts.Pods, "pod (until the last Succeeded)")),
			})
		}
		return nil
	})
}

func indexedJob(name string, completions, parallelism int) *batchv1.Job {
	mode := batchv1.IndexedCompletion
	c, p := int32(completions), int32(parallelism)
	backoff := int32(0)
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{
			CompletionMode: &mode,
			Completions:    &c,
			Parallelism:    &p,
			BackoffLimit:   &backoff,
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "main", Image: "busybox", Command: []string{"true"}}},
			}},
		},
	}
}

func jobFinished(j *batchv1.Job) (finished, complete bool) {
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return true, true
		case batchv1.JobFailed:
			return true, false
		}
	}
	return false, false
}
