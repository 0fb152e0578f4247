package main

import (
	"github.com/spf13/cobra"

	"github.com/kjet-dev/kjet/internal/runtime/process"
)

// newSupervisorCommand is the hidden `kjet supervisor --dir DIR`: the per-node process
// that owns the containers of the process runtime. process.New starts it (in its own
// session, so it outlives the server) by re-executing this binary; nobody runs it by
// hand. Its context ends on SIGTERM/SIGINT, which stops every container first.
func newSupervisorCommand(env rootEnv) *cobra.Command {
	o := process.SupervisorOptions{}
	cmd := &cobra.Command{
		Use:    "supervisor",
		Short:  "Run the node's container supervisor (started by kjet itself)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Log = cmd.ErrOrStderr()
			return process.RunSupervisor(env.ctx, o)
		},
	}
	cmd.Flags().StringVar(&o.Dir, "dir", "", "the supervisor's directory (socket, pid file, container records)")
	cmd.Flags().DurationVar(&o.IdleTimeout, "idle-timeout", 0, "exit after this long with no client and no running container (default 30s)")
	_ = cmd.MarkFlagRequired("dir")
	return cmd
}
