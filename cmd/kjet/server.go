package main

import (
	"github.com/spf13/cobra"

	"github.com/kjet-dev/kjet/internal/server"
)

// serverOptions are the flags of `kjet server`.
type serverOptions struct {
	Listen   string
	NodeName string
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
			return server.Run(env.ctx, server.Options{
				DataDir:  g.DataDir,
				Listen:   o.Listen,
				NodeName: o.NodeName,
				Stderr:   cmd.ErrOrStderr(),
			})
		},
	}
	cmd.Flags().StringVar(&o.Listen, "listen", server.DefaultListen, "HOST:PORT to serve on (port 0 picks a free port; a non-loopback host serves beyond this machine)")
	cmd.Flags().StringVar(&o.NodeName, "node-name", "", "name of this machine's node (default: the host name)")
	return cmd
}
