package main

import (
	"github.com/spf13/cobra"

	"github.com/sessionlab/sessionlab/fakeapp"
)

// fakeAppCommand is the subcommand the local runtime starts the fake app's replicas, its identity provider and its
// OpenID Connect provider with (the sessionlab binary itself, through os.Executable), and the fakeapp image's
// entry point: one binary, no go tool at run time. Its flags are the fake app's own (`sessionlab fakeapp -h`).
const fakeAppCommand = "fakeapp"

func newFakeAppCmd() *cobra.Command {
	return &cobra.Command{
		Use:                fakeAppCommand + " [idp|oidc] [flags]",
		Short:              "Serve one replica of the fake stateful app (or its identity provider): what the local runtime starts",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return fakeapp.Main(cmd.Context(), args, cmd.ErrOrStderr())
		},
	}
}
