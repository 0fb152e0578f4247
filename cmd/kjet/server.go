package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"

	"github.com/kjet-dev/kjet/internal/components"
	"github.com/kjet-dev/kjet/internal/registry/catalog"
	"github.com/kjet-dev/kjet/internal/server"
)

// serverOptions are the flags of `kjet server`.
type serverOptions struct {
	Listen   string
	NodeName string
	MaxPods  int
	EventTTL time.Duration
	// Test-only tuning (hidden flags): shorter Job back-off, faster CronJob clock.
	JobBackoffBase time.Duration
	JobSyncDelay   time.Duration
	CronClockSpeed float64
	// CPUProfile, when set, names a file that receives a CPU profile of the whole run
	// (hidden: for bench/ work on the hot paths).
	CPUProfile string
}

func newServerCommand(env rootEnv, g *globalOptions) *cobra.Command {
	o := &serverOptions{}
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the API server, controllers and a node agent in one process",
		Long: `Run kjet all in one: the Kubernetes API (HTTPS, admin token), the controllers and
a node agent. Before serving it writes DATA_DIR/kubeconfig and prints
"kjet ready: <url>" to stderr. SIGTERM or SIGINT shut it down cleanly.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := o.serverOptions(g.DataDir)
			if err != nil {
				return err
			}
			opts.Stderr = cmd.ErrOrStderr()
			if o.CPUProfile != "" {
				stop, err := startCPUProfile(o.CPUProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			return server.Run(env.ctx, opts)
		},
	}
	cmd.Flags().StringVar(&o.Listen, "listen", server.DefaultListen, "HOST:PORT to serve on (port 0 picks a free port; a non-loopback host serves beyond this machine)")
	cmd.Flags().StringVar(&o.NodeName, "node-name", "", "name of this machine's node (default: the host name)")
	cmd.Flags().IntVar(&o.MaxPods, "max-pods", 110, "how many pods this node runs at once")
	cmd.Flags().DurationVar(&o.EventTTL, "event-ttl", server.DefaultEventTTL, "how long an event is kept after its last write (0 keeps events for good)")
	cmd.Flags().DurationVar(&o.JobBackoffBase, "job-backoff-base", 10*time.Second, "back-off before the first replacement of a failed Job pod; it doubles per failure (tests shorten it)")
	cmd.Flags().DurationVar(&o.JobSyncDelay, "job-sync-delay", components.DefaultJobSyncDelay, "how long the Job controller batches pod changes before it syncs a Job")
	cmd.Flags().Float64Var(&o.CronClockSpeed, "cron-clock-speed", 1, "run the CronJob controller's clock this many times faster than real time (tests)")
	_ = cmd.Flags().MarkHidden("job-sync-delay")
	cmd.Flags().StringVar(&o.CPUProfile, "cpu-profile", "", "write a CPU profile of the run to this file (profiling the hot paths)")
	_ = cmd.Flags().MarkHidden("cron-clock-speed")
	_ = cmd.Flags().MarkHidden("cpu-profile")
	return cmd
}

// serverOptions resolves the data dir and node name (the components need them before the
// server starts) and assembles the in-process components.
func (o *serverOptions) serverOptions(dataDir string) (server.Options, error) {
	if dataDir == "" {
		d, err := server.DefaultDataDir()
		if err != nil {
			return server.Options{}, err
		}
		dataDir = d
	}
	dataDir, err := filepath.Abs(dataDir)
	if err != nil {
		return server.Options{}, fmt.Errorf("resolving data dir: %w", err)
	}
	nodeName := o.NodeName
	if nodeName == "" {
		if nodeName, err = os.Hostname(); err != nil {
			return server.Options{}, fmt.Errorf("finding the host name for the node name (set --node-name): %w", err)
		}
	}
	set, err := components.New(components.Options{
		DataDir:        dataDir,
		NodeName:       nodeName,
		Version:        server.BuildVersion(),
		Resources:      catalog.Resources(),
		MaxPods:        o.MaxPods,
		JobBackoffBase: o.JobBackoffBase,
		JobSyncDelay:   o.JobSyncDelay,
		CronClock:      components.ScaledClock(o.CronClockSpeed),
	})
	if err != nil {
		return server.Options{}, err
	}
	return server.Options{
		DataDir:    dataDir,
		Listen:     o.Listen,
		NodeName:   nodeName,
		EventTTL:   keepForGood(o.EventTTL),
		Components: set.Components(),
		Pods:       set.Pods(),
	}, nil
}

// keepForGood maps the flag's 0 (no time to live) to the Options' negative value.
func keepForGood(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		return -1
	}
	return ttl
}

// startCPUProfile starts writing a CPU profile to path; the returned func stops it and
// closes the file.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating the CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting the CPU profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
