package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kjet-dev/kjet/internal/podlogs"
	"github.com/kjet-dev/kjet/internal/runtime"
	"github.com/kjet-dev/kjet/internal/streaming"
)

// DefaultContainerAnnotation names the container kubectl and the log endpoint use when
// the request names none.
const DefaultContainerAnnotation = "kubectl.kubernetes.io/default-container"

// ServePodSubresource serves the node's part of a pod subresource: "log", "exec" and
// "attach" ("portforward" answers 501: pods share the host's network). pod is the
// object as the API server has it (status included).
func (a *Agent) ServePodSubresource(w http.ResponseWriter, r *http.Request, pod *corev1.Pod, subresource string) {
	switch subresource {
	case "log":
		a.serveLog(w, r, pod)
	case "exec", "attach":
		a.serveStream(w, r, pod, subresource)
	case "portforward":
		streaming.WriteStatus(w, apierrors.NewGenericServerResponse(http.StatusNotImplemented, r.Method, corev1.Resource("pods"), pod.Name,
			"port forwarding is not supported by kjet: pods use the host's network, connect to 127.0.0.1 directly", 0, false))
	default:
		streaming.WriteStatus(w, apierrors.NewNotFound(corev1.Resource("pods/"+subresource), pod.Name))
	}
}

// pickContainer resolves the container a request means: the named one, else the
// default-container annotation, else the first.
func pickContainer(pod *corev1.Pod, name string) (string, error) {
	if name == "" {
		name = pod.Annotations[DefaultContainerAnnotation]
	}
	if name == "" {
		if len(pod.Spec.Containers) == 0 {
			return "", apierrors.NewBadRequest(fmt.Sprintf("pod %q has no containers", pod.Name))
		}
		return pod.Spec.Containers[0].Name, nil
	}
	if findContainer(pod, name) == nil {
		return "", apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", name, pod.Name))
	}
	return name, nil
}

func findStatus(pod *corev1.Pod, name string) *corev1.ContainerStatus {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

// logAttempt picks the attempt whose log the request wants.
func logAttempt(pod *corev1.Pod, container string, previous bool) (int, error) {
	cs := findStatus(pod, container)
	if previous {
		if cs == nil || cs.RestartCount == 0 || (cs.LastTerminationState.Terminated == nil && cs.State.Terminated == nil) {
			return 0, apierrors.NewBadRequest(fmt.Sprintf("previous terminated container %q in pod %q not found", container, pod.Name))
		}
		return int(cs.RestartCount) - 1, nil
	}
	if cs == nil {
		return 0, apierrors.NewBadRequest(fmt.Sprintf("container %q in pod %q is waiting to start: ContainerCreating", container, pod.Name))
	}
	if cs.State.Waiting != nil && cs.LastTerminationState.Terminated == nil && cs.RestartCount == 0 {
		reason := cs.State.Waiting.Reason
		if reason == "" {
			reason = "ContainerCreating"
		}
		return 0, apierrors.NewBadRequest(fmt.Sprintf("container %q in pod %q is waiting to start: %s", container, pod.Name, reason))
	}
	return int(cs.RestartCount), nil
}

func (a *Agent) serveLog(w http.ResponseWriter, r *http.Request, pod *corev1.Pod) {
	opts, err := parseLogOptions(r.URL.Query())
	if err != nil {
		streaming.WriteStatus(w, err)
		return
	}
	container, err := pickContainer(pod, opts.Container)
	if err != nil {
		streaming.WriteStatus(w, err)
		return
	}
	attempt, err := logAttempt(pod, container, opts.Previous)
	if err != nil {
		streaming.WriteStatus(w, err)
		return
	}
	id := containerID(pod.UID, container, attempt)
	ro := podlogs.Options{
		Follow:       opts.Follow && !opts.Previous,
		Running:      func() bool { return a.containerRunning(r.Context(), id) },
		SinceSeconds: opts.SinceSeconds,
		TailLines:    opts.TailLines,
		Timestamps:   opts.Timestamps,
		LimitBytes:   opts.LimitBytes,
	}
	if opts.SinceTime != nil {
		t := opts.SinceTime.Time
		ro.SinceTime = &t
	}
	if opts.Stream != nil {
		ro.Stream = *opts.Stream
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Cache-Control", "no-cache, private")
	w.WriteHeader(http.StatusOK)
	fw := flushWriter{w: w}
	if f, ok := w.(http.Flusher); ok && ro.Follow {
		fw.f = f
	}
	if err := podlogs.Read(r.Context(), a.readLogPath(pod, container, attempt), ro, fw); err != nil && !errors.Is(err, context.Canceled) {
		a.log.Warn("serving logs", "pod", pod.Namespace+"/"+pod.Name, "container", container, "err", err)
	}
}

// containerRunning reports whether a container attempt still runs (so a followed log
// may still grow).
func (a *Agent) containerRunning(ctx context.Context, id string) bool {
	st, err := a.rt.Status(ctx, id)
	return err == nil && st.State == runtime.StateRunning
}

// flushWriter flushes after every write so followed logs reach the client at once.
type flushWriter struct {
	w interface{ Write([]byte) (int, error) }
	f http.Flusher
}

func (fw flushWriter) Write(p []byte) (int, error) {
	n, err := fw.w.Write(p)
	if fw.f != nil {
		fw.f.Flush()
	}
	return n, err
}

func (a *Agent) serveStream(w http.ResponseWriter, r *http.Request, pod *corev1.Pod, subresource string) {
	container, err := pickContainer(pod, r.URL.Query().Get("container"))
	if err != nil {
		streaming.WriteStatus(w, err)
		return
	}
	cs := findStatus(pod, container)
	if cs == nil || cs.State.Running == nil {
		streaming.WriteStatus(w, apierrors.NewBadRequest(fmt.Sprintf("container %s is not running", container)))
		return
	}
	id := containerID(pod.UID, container, int(cs.RestartCount))
	if subresource == "exec" {
		streaming.ServeExec(w, r, func(ctx context.Context, eo runtime.ExecOptions) (int, error) {
			return a.rt.Exec(ctx, id, eo)
		})
		return
	}
	streaming.ServeAttach(w, r, func(ctx context.Context, eo runtime.ExecOptions) error {
		return a.rt.Attach(ctx, id, eo)
	})
}

// parseLogOptions reads corev1.PodLogOptions from a pods/log query.
func parseLogOptions(q url.Values) (corev1.PodLogOptions, error) {
	opts := corev1.PodLogOptions{Container: q.Get("container")}
	bad := func(name, v string, err error) error {
		return apierrors.NewBadRequest(fmt.Sprintf("invalid value %q for %s: %v", v, name, err))
	}
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"follow", &opts.Follow}, {"previous", &opts.Previous}, {"timestamps", &opts.Timestamps}, {"insecureSkipTLSVerifyBackend", &opts.InsecureSkipTLSVerifyBackend}} {
		if v := q.Get(b.name); v != "" {
			parsed, err := strconv.ParseBool(v)
			if err != nil {
				return opts, bad(b.name, v, err)
			}
			*b.dst = parsed
		}
	}
	for _, n := range []struct {
		name string
		dst  **int64
	}{{"sinceSeconds", &opts.SinceSeconds}, {"tailLines", &opts.TailLines}, {"limitBytes", &opts.LimitBytes}} {
		if v := q.Get(n.name); v != "" {
			parsed, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return opts, bad(n.name, v, err)
			}
			*n.dst = &parsed
		}
	}
	if v := q.Get("sinceTime"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return opts, bad("sinceTime", v, err)
		}
		mt := metav1.NewTime(t)
		opts.SinceTime = &mt
	}
	if v := q.Get("stream"); v != "" {
		opts.Stream = &v
	}
	if opts.SinceSeconds != nil && opts.SinceTime != nil {
		return opts, apierrors.NewBadRequest("at most one of sinceTime or sinceSeconds may be specified")
	}
	return opts, nil
}
