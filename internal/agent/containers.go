package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kjet-dev/kjet/internal/runtime"
)

// advance starts and restarts containers: init containers one by one (sidecars started
// and kept running), then all app containers, following the restart policy.
func (w *podWorker) advance(ctx context.Context, pod *corev1.Pod) {
	policy := pod.Spec.RestartPolicy
	initDone := true
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		rec := w.recs[c.Name]
		if rec.kind == kindSidecar {
			w.keepRunning(ctx, pod, c, rec, true)
			if !rec.running() || !w.isStarted(rec) {
				// The next init container waits until the sidecar has started.
				if !w.initialized {
					initDone = false
					break
				}
			}
			continue
		}
		if w.initialized {
			continue // init containers never run again once the pod is initialized
		}
		if rec.exited() && rec.cur.ExitCode == 0 {
			continue
		}
		initDone = false
		if rec.exited() && policy == corev1.RestartPolicyNever {
			w.killAll(ctx, pod, gracePeriod(pod), "")
			w.finishFailed("", "")
			return
		}
		w.keepRunning(ctx, pod, c, rec, policy != corev1.RestartPolicyNever)
		break
	}
	if !initDone {
		return
	}
	w.initialized = true
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		rec := w.recs[c.Name]
		restart := policy == corev1.RestartPolicyAlways ||
			(policy == corev1.RestartPolicyOnFailure && rec.exited() && rec.cur.ExitCode != 0)
		w.keepRunning(ctx, pod, c, rec, restart)
	}
}

// keepRunning starts a container that never ran and, when restart is set, restarts an
// exited one once its back-off has passed.
func (w *podWorker) keepRunning(ctx context.Context, pod *corev1.Pod, c *corev1.Container, rec *containerRecord, restart bool) {
	now := w.a.clock.Now()
	switch {
	case rec.running():
		return
	case rec.cur == nil:
		if !rec.retryAt.IsZero() && now.Before(rec.retryAt) {
			w.wakeAt(rec.retryAt)
			return
		}
		w.start(ctx, pod, c, rec, 0)
		return
	}
	// Exited.
	if !rec.decided {
		rec.decided = true
		if !restart {
			rec.final = true
			return
		}
		d := rec.backoff.next(rec.cur.FinishedAt)
		rec.restartAt, rec.backoffFor = rec.cur.FinishedAt.Add(d), d
		if d > 0 && now.Before(rec.restartAt) {
			w.a.recorder.Eventf(pod, corev1.EventTypeWarning, "BackOff",
				"Back-off restarting failed container %s in pod %s_%s(%s)", rec.name, pod.Name, pod.Namespace, pod.UID)
		}
	}
	if rec.final || rec.restartAt.IsZero() {
		return
	}
	if now.Before(rec.restartAt) {
		w.wakeAt(rec.restartAt)
		return
	}
	if !rec.retryAt.IsZero() && now.Before(rec.retryAt) {
		w.wakeAt(rec.retryAt)
		return
	}
	w.start(ctx, pod, c, rec, rec.attempt+1)
}

// decideTerminal ends a pod whose app containers are all done and will not restart
// (restartPolicy Never or OnFailure), then stops its sidecars.
func (w *podWorker) decideTerminal(ctx context.Context, pod *corev1.Pod) {
	if w.terminal || !w.initialized || pod.Spec.RestartPolicy == corev1.RestartPolicyAlways {
		return
	}
	phase := corev1.PodSucceeded
	for _, c := range pod.Spec.Containers {
		rec := w.recs[c.Name]
		if !rec.exited() || !rec.final {
			return
		}
		if rec.cur.ExitCode != 0 {
			phase = corev1.PodFailed
		}
	}
	// Sidecars do not keep a finished pod alive.
	for i := len(pod.Spec.InitContainers) - 1; i >= 0; i-- {
		rec := w.recs[pod.Spec.InitContainers[i].Name]
		if rec.kind == kindSidecar && rec.running() {
			w.killAll(ctx, pod, gracePeriod(pod), rec.name)
		}
	}
	w.terminal, w.phase = true, phase
	w.clearRestarts()
}

// start runs one attempt of a container.
func (w *podWorker) start(ctx context.Context, pod *corev1.Pod, c *corev1.Container, rec *containerRecord, attempt int) {
	now := w.a.clock.Now()
	cfg, err := w.containerConfig(ctx, pod, c, attempt)
	var cfgErr *configError
	switch {
	case errors.As(err, &cfgErr):
		rec.waitReason, rec.waitMessage = "CreateContainerConfigError", cfgErr.msg
		rec.retryAt = now.Add(w.a.opts.ConfigRetryInterval)
		w.wakeAt(rec.retryAt)
		w.a.recorder.Eventf(pod, corev1.EventTypeWarning, "Failed", "Error: %s", cfgErr.msg)
		return
	case err != nil:
		w.a.log.Warn("preparing container", "pod", pod.Namespace+"/"+pod.Name, "container", c.Name, "err", err)
		rec.waitReason, rec.waitMessage = "CreateContainerError", err.Error()
		rec.retryAt = now.Add(w.a.opts.ConfigRetryInterval)
		w.wakeAt(rec.retryAt)
		return
	}
	rec.waitReason, rec.waitMessage, rec.retryAt = "", "", time.Time{}
	w.a.recorder.Eventf(pod, corev1.EventTypeNormal, "Pulled", "Container image %q already present on machine", c.Image)

	var st runtime.ContainerStatus
	if len(cfg.Argv) == 0 {
		msg := fmt.Sprintf("kjet runs host processes: container %q has no command", c.Name)
		st = runtime.ContainerStatus{ID: cfg.ID, Config: cfg, State: runtime.StateExited, StartedAt: now, FinishedAt: now,
			ExitCode: 128, Reason: "StartError", Message: msg}
		w.a.recorder.Eventf(pod, corev1.EventTypeWarning, "Failed", "Error: %s", msg)
	} else {
		w.a.registerContainer(cfg.ID, pod.UID)
		// Created before the start, as the kubelet reports it between creating and
		// starting the container: its write then overlaps the start, not the status
		// write that follows it.
		w.a.recorder.Eventf(pod, corev1.EventTypeNormal, "Created", "Created container: %s", c.Name)
		st, err = w.a.rt.Start(ctx, cfg)
		if err != nil {
			st = runtime.ContainerStatus{ID: cfg.ID, Config: cfg, State: runtime.StateExited, StartedAt: now, FinishedAt: now,
				ExitCode: 128, Reason: "StartError", Message: err.Error()}
		}
		if st.State == runtime.StateRunning || st.Reason != "StartError" {
			w.a.recorder.Eventf(pod, corev1.EventTypeNormal, "Started", "Started container %s", c.Name)
		} else {
			w.a.recorder.Eventf(pod, corev1.EventTypeWarning, "Failed", "Error: %s", st.Message)
		}
	}
	if rec.prev != nil {
		// Only the latest two attempts are kept; older ones live on only as log files.
		if err := w.a.rt.Remove(ctx, rec.prev.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			w.a.log.Warn("removing old container", "container", rec.prev.ID, "err", err)
		}
		w.a.forgetContainer(rec.prev.ID)
	}
	rec.prev = rec.cur
	rec.cur, rec.attempt = &st, attempt
	rec.decided, rec.final, rec.restartAt = false, false, time.Time{}
	if st.State == runtime.StateRunning {
		w.startedRunning = true
		w.startProbes(pod, c, rec)
	} else {
		w.again = true // act on the exit at once
	}
}

// containerConfig resolves the container's environment, command and mounts.
func (w *podWorker) containerConfig(ctx context.Context, pod *corev1.Pod, c *corev1.Container, attempt int) (runtime.ContainerConfig, error) {
	src := newSourceReader(w.a.client, pod.Namespace)
	vars, err := resolveEnv(ctx, src, pod, c, w.a.nodeAllocatable)
	if err != nil {
		return runtime.ContainerConfig{}, err
	}
	mounts, err := containerMounts(c, w.volumes)
	if err != nil {
		return runtime.ContainerConfig{}, err
	}
	env := make([]string, 0, len(vars)+1)
	hasHostname := false
	for _, v := range vars {
		env = append(env, v.name+"="+v.value)
		hasHostname = hasHostname || v.name == "HOSTNAME"
	}
	if !hasHostname {
		host := pod.Name
		if pod.Spec.Hostname != "" {
			host = pod.Spec.Hostname
		}
		env = append(env, "HOSTNAME="+host)
	}
	cfg := runtime.ContainerConfig{
		ID:            containerID(pod.UID, c.Name, attempt),
		PodNamespace:  pod.Namespace,
		PodName:       pod.Name,
		PodUID:        string(pod.UID),
		ContainerName: c.Name,
		Attempt:       attempt,
		Argv:          commandLine(c, vars),
		Env:           env,
		WorkingDir:    c.WorkingDir,
		LogPath:       w.a.logPath(pod, c.Name, attempt),
		Mounts:        mounts,
		Stdin:         c.Stdin,
		TTY:           c.TTY,
	}
	gpus, err := w.a.gpus.allocate(ctx, w.a.rt, cfg.ID, gpuRequest(c))
	if err != nil {
		return runtime.ContainerConfig{}, err
	}
	cfg.GPUs = gpus
	if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		cfg.MemoryLimitBytes = q.Value()
	}
	if q, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
		cfg.CPUMilli = q.MilliValue()
	}
	if sc := pod.Spec.SecurityContext; sc != nil {
		cfg.RunAsUser, cfg.RunAsGroup = sc.RunAsUser, sc.RunAsGroup
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			cfg.RunAsUser = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			cfg.RunAsGroup = sc.RunAsGroup
		}
	}
	return cfg, nil
}
