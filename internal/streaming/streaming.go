// Package streaming is the server side of kubectl exec and attach: it parses the
// request's options, upgrades the connection (WebSocket with the v5.channel.k8s.io or
// v4.channel.k8s.io subprotocol, which kubectl tries first, or SPDY/3.1, its fallback),
// connects the client's stdin, stdout, stderr and terminal resizes to a command run by
// the caller, and ends with the metav1.Status kubectl turns into its exit code.
package streaming

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/streaming/pkg/httpstream/wsstream"

	"github.com/kjet-dev/kjet/internal/runtime"
)

// Stream protocol names (subprotocols over WebSocket, X-Stream-Protocol-Version over
// SPDY). Both report the end of a command as a JSON metav1.Status.
const (
	ProtocolV5 = "v5.channel.k8s.io"
	ProtocolV4 = "v4.channel.k8s.io"
)

// Options are a request's exec/attach parameters (corev1.PodExecOptions and
// PodAttachOptions in query form).
type Options struct {
	Container                  string
	Command                    []string
	Stdin, Stdout, Stderr, TTY bool
}

// ExecFunc runs opts.Argv with the given streams and returns its exit code; an error
// means the command could not be run at all.
type ExecFunc func(ctx context.Context, opts runtime.ExecOptions) (int, error)

// AttachFunc connects the streams to a running container until it ends or the client
// goes away.
type AttachFunc func(ctx context.Context, opts runtime.ExecOptions) error

// ParseOptions reads the exec (exec=true) or attach options from r's query, as kubectl
// sends them: command repeated, container, stdin, stdout, stderr, tty. It returns a
// BadRequest StatusError when they make no sense.
func ParseOptions(r *http.Request, exec bool) (Options, error) {
	q := r.URL.Query()
	o := Options{Container: q.Get("container"), Command: q["command"]}
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"stdin", &o.Stdin}, {"stdout", &o.Stdout}, {"stderr", &o.Stderr}, {"tty", &o.TTY}} {
		v := q.Get(b.name)
		if v == "" {
			continue
		}
		parsed, err := strconv.ParseBool(v)
		if err != nil {
			return o, apierrors.NewBadRequest(fmt.Sprintf("invalid value %q for %s: %v", v, b.name, err))
		}
		*b.dst = parsed
	}
	if exec && len(o.Command) == 0 {
		return o, apierrors.NewBadRequest("you must specify at least one command for the container")
	}
	if !o.Stdin && !o.Stdout && !o.Stderr {
		return o, apierrors.NewBadRequest("you must specify at least 1 of stdin, stdout, stderr")
	}
	if o.TTY {
		// A terminal merges stderr into stdout.
		o.Stderr = false
	}
	return o, nil
}

// ServeExec serves a pods/exec request: it upgrades the connection and runs exec with
// the client's streams, then reports the exit code (Success, or Failure with reason
// NonZeroExitCode and an ExitCode cause) on the error channel.
func ServeExec(w http.ResponseWriter, r *http.Request, exec ExecFunc) {
	opts, err := ParseOptions(r, true)
	if err != nil {
		WriteStatus(w, err)
		return
	}
	serve(w, r, opts, func(ctx context.Context, eo runtime.ExecOptions) *metav1.Status {
		code, err := exec(ctx, eo)
		switch {
		case err != nil:
			return failureStatus(fmt.Errorf("error executing command in container: %w", err))
		case code != 0:
			return exitStatus(opts.Command, code)
		default:
			return successStatus()
		}
	})
}

// ServeAttach serves a pods/attach request: it upgrades the connection and calls
// attach with the client's streams until it returns.
func ServeAttach(w http.ResponseWriter, r *http.Request, attach AttachFunc) {
	opts, err := ParseOptions(r, false)
	if err != nil {
		WriteStatus(w, err)
		return
	}
	serve(w, r, opts, func(ctx context.Context, eo runtime.ExecOptions) *metav1.Status {
		if err := attach(ctx, eo); err != nil {
			return failureStatus(fmt.Errorf("error attaching to container: %w", err))
		}
		return successStatus()
	})
}

// session runs the command with the connected streams and returns its final status.
type session func(ctx context.Context, opts runtime.ExecOptions) *metav1.Status

func serve(w http.ResponseWriter, r *http.Request, opts Options, run session) {
	switch {
	case wsstream.IsWebSocketRequest(r):
		serveWebSocket(w, r, opts, run)
	case isSPDYRequest(r):
		serveSPDY(w, r, opts, run)
	default:
		WriteStatus(w, apierrors.NewBadRequest("Upgrade request required"))
	}
}

func successStatus() *metav1.Status {
	return &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusSuccess,
	}
}

func exitStatus(command []string, code int) *metav1.Status {
	return &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure,
		Reason:   "NonZeroExitCode",
		Message:  fmt.Sprintf("command terminated with non-zero exit code: error executing command [%s], exit code %d", strings.Join(command, " "), code),
		Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{
			Type:    "ExitCode",
			Message: strconv.Itoa(code),
		}}},
	}
}

func failureStatus(err error) *metav1.Status {
	st := apierrors.NewInternalError(err).ErrStatus
	st.Kind, st.APIVersion = "Status", "v1"
	return &st
}

// WriteStatus answers a request that was not upgraded with err as a metav1.Status
// (500 InternalError for errors that are not StatusErrors).
func WriteStatus(w http.ResponseWriter, err error) {
	var se apierrors.APIStatus
	if !errors.As(err, &se) {
		se = apierrors.NewInternalError(err)
	}
	st := se.Status()
	st.Kind, st.APIVersion = "Status", "v1"
	body, mErr := json.Marshal(&st)
	if mErr != nil {
		http.Error(w, st.Message, int(st.Code))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(int(st.Code))
	_, _ = w.Write(append(body, '\n'))
}

// decodeResizes reads a stream of JSON TerminalSize objects (what kubectl sends on the
// resize channel) into sizes until r ends or ctx is done, then closes sizes.
func decodeResizes(ctx context.Context, r io.Reader, sizes chan<- runtime.TerminalSize) {
	defer close(sizes)
	dec := json.NewDecoder(r)
	for {
		var s struct{ Width, Height uint16 }
		if err := dec.Decode(&s); err != nil {
			return
		}
		select {
		case sizes <- runtime.TerminalSize{Width: s.Width, Height: s.Height}:
		case <-ctx.Done():
			return
		}
	}
}

// Stream type header values of SPDY streams.
const (
	streamTypeError  = corev1.StreamTypeError
	streamTypeStdin  = corev1.StreamTypeStdin
	streamTypeStdout = corev1.StreamTypeStdout
	streamTypeStderr = corev1.StreamTypeStderr
	streamTypeResize = corev1.StreamTypeResize
)
