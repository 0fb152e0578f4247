package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// StartEmbedded starts an all-in-one kjet server on dataDir and returns once it is
// ready, with the path of the kubeconfig it wrote and a function that stops it.
type StartEmbedded func(ctx context.Context, dataDir string) (kubeconfig string, stop func() error, err error)

// ConnectOptions say where kjet run finds its API server.
type ConnectOptions struct {
	// Kubeconfig, when set (flag or $KUBECONFIG), names the cluster to use.
	Kubeconfig string
	// DataDir is the default kjet data dir: a server running on it is used if it answers.
	DataDir string
	// Keep keeps the embedded server's data dir instead of removing it.
	Keep bool
	// Start starts the embedded server.
	Start StartEmbedded
}

// Connector returns the Connect function for Options.
func Connector(o ConnectOptions) func(ctx context.Context) (*Cluster, error) {
	return func(ctx context.Context) (*Cluster, error) {
		if o.Kubeconfig != "" {
			cfg, err := loadKubeconfig(o.Kubeconfig)
			if err != nil {
				return nil, err
			}
			return &Cluster{Config: cfg, Description: "using the cluster in " + o.Kubeconfig}, nil
		}
		if o.DataDir != "" {
			path := filepath.Join(o.DataDir, "kubeconfig")
			if cfg, err := loadKubeconfig(path); err == nil && answers(ctx, cfg) {
				return &Cluster{Config: cfg, Description: "using the kjet server of " + o.DataDir}, nil
			}
		}
		return startEmbedded(ctx, o)
	}
}

func startEmbedded(ctx context.Context, o ConnectOptions) (*Cluster, error) {
	if o.Start == nil {
		return nil, errors.New("no kjet server is running and no embedded server is available")
	}
	dir, err := os.MkdirTemp("", "kjet-run-")
	if err != nil {
		return nil, fmt.Errorf("creating a data dir for the embedded server: %w", err)
	}
	kubeconfig, stop, err := o.Start(ctx, dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting the embedded server: %w", err)
	}
	cfg, err := loadKubeconfig(kubeconfig)
	if err != nil {
		stop()
		os.RemoveAll(dir)
		return nil, err
	}
	desc := ""
	if o.Keep {
		desc = "embedded server data dir (kept): " + dir
	}
	return &Cluster{
		Config:      cfg,
		Description: desc,
		Stop: func() error {
			err := stop()
			if !o.Keep {
				if rmErr := os.RemoveAll(dir); rmErr != nil && err == nil {
					err = rmErr
				}
			}
			return err
		},
	}, nil
}

func loadKubeconfig(path string) (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig %s: %w", path, err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	return cfg, nil
}

// answers reports whether the server in cfg responds to /version quickly.
func answers(ctx context.Context, cfg *rest.Config) bool {
	probe := rest.CopyConfig(cfg)
	probe.Timeout = 500 * time.Millisecond
	client, err := kubernetes.NewForConfig(probe)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	_, err = client.Discovery().RESTClient().Get().AbsPath("/version").DoRaw(ctx)
	return err == nil
}
