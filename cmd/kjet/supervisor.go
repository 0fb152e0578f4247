package main

import (
	"github.com/spf13/cobra"

	"github.com/kjet-dev/kjet/cmd/kjet/internal/supervisormain"
)

// newSupervisorCommand is the hidden `kjet supervisor --dir DIR [--idle-timeout D]`:
// the per-node process that owns the containers of the process runtime. process.New
// starts it (in its own session, so it outlives the server) by re-executing this
// binary; nobody runs it by hand. Started that way it never gets here: package
// supervisormain runs it during initialisation, before kubectl's and client-go's
// packages. This command serves the other spellings (global flags first). Its context
// ends on SIGTERM/SIGINT, which stops every container first.
func newSupervisorCommand(env rootEnv) *cobra.Command {
	return &cobra.Command{
		Use:                supervisormain.Subcommand,
		Short:              "Run the node's container supervisor (started by kjet itself)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return supervisormain.Run(env.ctx, args, cmd.ErrOrStderr())
		},
	}
}
