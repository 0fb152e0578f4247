// Command kjet is Kubernetes' batch workload API (Jobs, CronJobs and their Pods) in one
// binary: `kjet server` runs the API server with its controllers and a node agent,
// `kjet kubectl` is the real kubectl pointed at it, `kjet version` says which
// Kubernetes API it implements.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kjet-dev/kjet/cmd/kjet/internal/kubectli18n"
)

func main() {
	if err := kubectli18n.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "warning: kubectl translations loaded early (slower start-up): %v\n", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	root := newRootCommand(rootEnv{ctx: ctx})
	err := root.Execute()
	stop()
	var exit exitCodeError
	if errors.As(err, &exit) {
		os.Exit(exit.code)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		os.Exit(1)
	}
}

// rootEnv is what the commands get from main: the process's context (ended by SIGTERM
// or SIGINT).
type rootEnv struct {
	ctx context.Context
}

// globalOptions are the flags every subcommand shares.
type globalOptions struct {
	// DataDir is --data-dir; empty means $KJET_DATA_DIR, else ~/.kjet.
	DataDir string
}

func newRootCommand(env rootEnv) *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:           "kjet",
		Short:         "Kubernetes batch workloads (Jobs, CronJobs, Pods) in one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.DataDir, "data-dir", "", "directory for state, credentials and the kubeconfig (default $KJET_DATA_DIR, else ~/.kjet)")
	root.AddCommand(
		newServerCommand(env, g),
		newKubectlCommand(g),
		newVersionCommand(),
		newSupervisorCommand(env),
		newRunCommand(env, g),
	)
	return root
}
