package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kjet-dev/kjet/internal/server"
)

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print kjet's version and the Kubernetes API version it implements",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := server.VersionInfo(server.BuildVersion())
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "kjet version: %s\nKubernetes API version: %s\nserver /version gitVersion: %s\n",
				server.BuildVersion(), server.KubernetesVersion(), v.GitVersion)
			return err
		},
	}
}
