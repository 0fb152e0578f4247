package agent

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kjet-dev/kjet/internal/runtime"
)

// probeKind names the three container probes.
type probeKind string

const (
	probeLiveness  probeKind = "Liveness"
	probeReadiness probeKind = "Readiness"
	probeStartup   probeKind = "Startup"
)

// probeKey identifies one probe of one container.
type probeKey struct {
	container string
	kind      probeKind
}

// containerProbes are the probe goroutines of one running container attempt.
type containerProbes struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// startProbes starts the container's probes; each reports verdicts into the inbox.
func (w *podWorker) startProbes(pod *corev1.Pod, c *corev1.Container, rec *containerRecord) {
	probes := map[probeKind]*corev1.Probe{probeLiveness: c.LivenessProbe, probeReadiness: c.ReadinessProbe, probeStartup: c.StartupProbe}
	w.mu.Lock()
	for kind := range probes {
		delete(w.probeResults, probeKey{c.Name, kind})
	}
	w.mu.Unlock()
	if c.LivenessProbe == nil && c.ReadinessProbe == nil && c.StartupProbe == nil {
		return
	}
	w.a.mu.Lock()
	parent := w.a.ctx
	w.a.mu.Unlock()
	ctx, cancel := context.WithCancel(parent)
	p := &containerProbes{cancel: cancel, done: make(chan struct{})}
	var wg sync.WaitGroup
	for kind, probe := range probes {
		if probe == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.probeLoop(ctx, pod, c, rec.cur.ID, kind, probe)
		}()
	}
	go func() { wg.Wait(); close(p.done) }()
	rec.probes = p
}

func (w *podWorker) stopProbes(rec *containerRecord) {
	if rec.probes == nil {
		return
	}
	rec.probes.cancel()
	<-rec.probes.done
	rec.probes = nil
}

func (w *podWorker) stopAllProbes() {
	for _, r := range w.recs {
		w.stopProbes(r)
	}
}

func (w *podWorker) probeResult(container string, kind probeKind) (ok, known bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ok, known = w.probeResults[probeKey{container, kind}]
	return ok, known
}

func (w *podWorker) setProbeResult(container string, kind probeKind, ok bool) {
	w.mu.Lock()
	prev, known := w.probeResults[probeKey{container, kind}]
	w.probeResults[probeKey{container, kind}] = ok
	w.mu.Unlock()
	if !known || prev != ok {
		w.signal()
	}
}

// isStarted: the container runs and its startup probe, if any, has succeeded.
func (w *podWorker) isStarted(rec *containerRecord) bool {
	if !rec.running() {
		return false
	}
	if c := findContainer(w.currentPod(), rec.name); c != nil && c.StartupProbe != nil {
		ok, _ := w.probeResult(rec.name, probeStartup)
		return ok
	}
	return true
}

// isReady: started and its readiness probe, if any, last succeeded.
func (w *podWorker) isReady(rec *containerRecord) bool {
	if !w.isStarted(rec) {
		return false
	}
	if c := findContainer(w.currentPod(), rec.name); c != nil && c.ReadinessProbe != nil {
		ok, _ := w.probeResult(rec.name, probeReadiness)
		return ok
	}
	return true
}

func (w *podWorker) currentPod() *corev1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod
}

// applyProbeResults kills containers whose liveness or startup probe failed; the
// restart policy then decides what happens next.
func (w *podWorker) applyProbeResults(ctx context.Context, pod *corev1.Pod) {
	for _, rec := range w.recs {
		if !rec.running() {
			continue
		}
		for _, kind := range []probeKind{probeLiveness, probeStartup} {
			if ok, known := w.probeResult(rec.name, kind); known && !ok {
				w.a.recorder.Eventf(pod, corev1.EventTypeNormal, "Killing", "Container %s failed %s probe, will be restarted", rec.name, strings.ToLower(string(kind)))
				w.killAll(ctx, pod, gracePeriod(pod), rec.name)
				break
			}
		}
	}
}

// probeLoop runs one probe on its schedule until ctx ends.
func (w *podWorker) probeLoop(ctx context.Context, pod *corev1.Pod, c *corev1.Container, id string, kind probeKind, probe *corev1.Probe) {
	period := time.Duration(max(probe.PeriodSeconds, 1)) * time.Second
	if probe.PeriodSeconds == 0 {
		period = 10 * time.Second
	}
	timeout := time.Duration(max(probe.TimeoutSeconds, 1)) * time.Second
	successThreshold, failureThreshold := max(probe.SuccessThreshold, 1), probe.FailureThreshold
	if failureThreshold <= 0 {
		failureThreshold = 3
	}
	if !w.sleep(ctx, time.Duration(probe.InitialDelaySeconds)*time.Second) {
		return
	}
	var successes, failures int32
	for {
		run := true
		if kind != probeStartup && c.StartupProbe != nil {
			started, _ := w.probeResult(c.Name, probeStartup)
			run = started
		}
		if run {
			ok, out := w.runProbe(ctx, c, id, probe, timeout)
			if ctx.Err() != nil {
				return
			}
			if ok {
				successes, failures = successes+1, 0
				if successes >= successThreshold {
					w.setProbeResult(c.Name, kind, true)
					if kind == probeStartup {
						return
					}
				}
			} else {
				successes, failures = 0, failures+1
				w.a.recorder.Eventf(pod, corev1.EventTypeWarning, "Unhealthy", "%s probe failed: %s", kind, out)
				if failures >= failureThreshold {
					w.setProbeResult(c.Name, kind, false)
				}
			}
		}
		if !w.sleep(ctx, period) {
			return
		}
	}
}

func (w *podWorker) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := w.a.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}

// runProbe performs one check; out explains a failure.
func (w *podWorker) runProbe(ctx context.Context, c *corev1.Container, id string, probe *corev1.Probe, timeout time.Duration) (ok bool, out string) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch {
	case probe.Exec != nil:
		var buf bytes.Buffer
		code, err := w.a.rt.Exec(ctx, id, runtime.ExecOptions{Argv: probe.Exec.Command, Stdout: &buf, Stderr: &buf})
		if err != nil {
			return false, err.Error()
		}
		if code != 0 {
			return false, strings.TrimSpace(buf.String())
		}
		return true, ""
	case probe.HTTPGet != nil:
		g := probe.HTTPGet
		port, err := resolvePort(g.Port, c)
		if err != nil {
			return false, err.Error()
		}
		host := g.Host
		if host == "" {
			host = podIP
		}
		scheme := strings.ToLower(string(g.Scheme))
		if scheme == "" {
			scheme = "http"
		}
		path := g.Path
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s://%s%s", scheme, net.JoinHostPort(host, strconv.Itoa(port)), path), nil)
		if err != nil {
			return false, err.Error()
		}
		req.Header.Set("User-Agent", "kube-probe/1.37")
		for _, h := range g.HTTPHeaders {
			req.Header.Set(h.Name, h.Value)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			return false, err.Error()
		}
		_ = resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return false, fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode)
		}
		return true, ""
	case probe.TCPSocket != nil:
		port, err := resolvePort(probe.TCPSocket.Port, c)
		if err != nil {
			return false, err.Error()
		}
		host := probe.TCPSocket.Host
		if host == "" {
			host = podIP
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return false, err.Error()
		}
		_ = conn.Close()
		return true, ""
	}
	// gRPC probes need a gRPC health client kjet does not carry; they pass.
	return true, ""
}

func resolvePort(p intstr.IntOrString, c *corev1.Container) (int, error) {
	if p.Type == intstr.Int {
		return p.IntValue(), nil
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil {
		return n, nil
	}
	return 0, fmt.Errorf("port %q not found in container %q", p.StrVal, c.Name)
}
