// Package server runs kjet all in one process: it opens the embedded store, builds the
// API server over every resource kjet serves, secures it with kjet's own CA and admin
// token, listens, writes the admin kubeconfig and announces readiness, then runs the
// in-process components (controllers, scheduler, node agent) against the API through
// client-go, until its context ends.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"

	"github.com/kjet-dev/kjet/internal/apiserver"
)

// Defaults for Options.
const (
	DefaultListen          = "127.0.0.1:6443"
	DefaultShutdownTimeout = 10 * time.Second
	// DefaultEventTTL is how long an event is kept after its last write, as in
	// kube-apiserver.
	DefaultEventTTL = apiserver.DefaultEventTTL
	// DataDirEnv names the environment variable that sets the default data directory.
	DataDirEnv = "KJET_DATA_DIR"
)

// Files inside the data directory.
const (
	KubeconfigFile = "kubeconfig"
	StateFile      = "state.db"
	PKIDir         = "pki"
)

// Component is an in-process part of kjet (a controller manager, the scheduler, a node
// agent) that talks to the API server like its Kubernetes counterpart does. It is
// started in its own goroutine once the API serves requests, with a client
// configuration whose transport calls the API server's handler in process (no network
// in between) and that carries the admin token. It must return when ctx ends;
// returning nil or ctx's error then is a clean stop. Any other error, or returning
// early, stops the whole server with that error.
type Component struct {
	// Name is used in logs and errors, e.g. "controller-manager".
	Name string
	// Run runs the component until ctx ends.
	Run func(ctx context.Context, cfg *rest.Config) error
}

// PodConnector serves a pod's streaming subresources ("log", "exec", "attach",
// "portforward") after the API server has read the pod; it is the same method set as
// apiserver.PodConnector, which the node agent implements.
type PodConnector interface {
	ServePodSubresource(w http.ResponseWriter, r *http.Request, pod *corev1.Pod, subresource string)
}

// Options configure Run.
type Options struct {
	// DataDir holds the kubeconfig, pki/, state.db (with state.db-wal) and supervisor/.
	// Default: DefaultDataDir().
	DataDir string
	// Listen is the HOST:PORT to serve on. Default DefaultListen. Port 0 picks a free
	// port. Serving beyond loopback needs an explicit non-loopback host here.
	Listen string
	// NodeName is the name of this machine's node (for the node agent component).
	// Default: the host name.
	NodeName string
	// Version is kjet's own version, reported in /version's gitVersion as
	// v<kubernetes version>+kjet.<Version>. Default: from the binary's build info.
	Version string
	// Components are started after the API is ready; see Component.
	Components []Component
	// Pods serves the pods/log, exec, attach and portforward subresources (the node
	// agent's side); nil makes them answer 503.
	Pods PodConnector
	// Stderr receives the "kjet ready: <url>" line. Default os.Stderr.
	Stderr io.Writer
	// Logger receives operational logs. Default: text logs on Stderr at level Info.
	Logger *slog.Logger
	// ShutdownTimeout bounds the graceful shutdown of in-flight requests and
	// components. Default DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// EventTTL is how long an event is kept after its last write (kube-apiserver's
	// --event-ttl). Default DefaultEventTTL (one hour); negative keeps events for good.
	EventTTL time.Duration
}

// DefaultDataDir is $KJET_DATA_DIR when set, else ~/.kjet.
func DefaultDataDir() (string, error) {
	if d := os.Getenv(DataDirEnv); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the home directory for the default data dir (set %s or --data-dir): %w", DataDirEnv, err)
	}
	return filepath.Join(home, ".kjet"), nil
}

// withDefaults returns a copy of o with every unset field defaulted.
func (o Options) withDefaults() (Options, error) {
	if o.DataDir == "" {
		d, err := DefaultDataDir()
		if err != nil {
			return o, err
		}
		o.DataDir = d
	}
	abs, err := filepath.Abs(o.DataDir)
	if err != nil {
		return o, fmt.Errorf("resolving data dir: %w", err)
	}
	o.DataDir = abs
	if o.Listen == "" {
		o.Listen = DefaultListen
	}
	if _, _, err := net.SplitHostPort(o.Listen); err != nil {
		return o, fmt.Errorf("invalid --listen %q (want HOST:PORT): %w", o.Listen, err)
	}
	if o.NodeName == "" {
		h, err := os.Hostname()
		if err != nil {
			return o, fmt.Errorf("finding the host name for the node name (set --node-name): %w", err)
		}
		o.NodeName = h
	}
	if o.Version == "" {
		o.Version = BuildVersion()
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(o.Stderr, nil))
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	for i, c := range o.Components {
		if c.Run == nil {
			return o, fmt.Errorf("component %d (%q) has no Run function", i, c.Name)
		}
	}
	return o, nil
}

// errComponentReturned is reported when a component stops before the server does.
var errComponentReturned = errors.New("server: component stopped unexpectedly")
