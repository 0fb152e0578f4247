// Package supervisormain runs `kjet supervisor` before the rest of the binary has
// initialised. The supervisor is this binary re-executed by the node agent (one per
// node, outliving the server), and it needs none of what most of kjet's ~400 packages
// set up at start-up: kubectl's commands, client-go's schemes, the API types. Started
// through main it would pay for all of them on every start and keep their heap and
// their pages of the binary for its whole life.
//
// Go initialises packages in dependency order and, among those ready, in import path
// order. This package depends on little more than the process runtime and its path
// sorts before k8s.io/..., so it is initialised before kubectl's commands and
// client-go's schemes. (Packages that are ready earlier still go first: of the ~200
// that initialise in a supervisor, ~120 are not its dependencies, cheap ones that
// depend on little.) When the process was started as `kjet supervisor ARGS`, its
// initialisation runs the supervisor and exits with its status, and the rest never
// initialises; TestSupervisorSkipsKubernetesInit in cmd/kjet checks that on a binary
// that links everything. In any other process it does nothing, and Run serves the
// hidden cobra command for the forms the early check does not see (`kjet --data-dir D
// supervisor`).
package supervisormain

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/kjet-dev/kjet/internal/runtime/process"
)

// Subcommand is the first argument that selects the supervisor, as the process
// runtime starts it: `kjet supervisor --dir DIR`.
const Subcommand = "supervisor"

// init is the supervisor's entry point (see the package comment): a process started
// as the supervisor runs it here and exits; any other returns at once.
func init() {
	runEarly(os.Args)
}

// runEarly runs the supervisor and exits the process when args select it.
func runEarly(args []string) {
	if len(args) < 2 || args[1] != Subcommand {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	err := Run(ctx, args[2:], os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Run parses the supervisor's flags (--dir, required, and --idle-timeout) from args
// and runs the supervisor until ctx ends, it has been idle long enough, or a client
// tells it to stop. It is the whole process's work: it also sets the process's Go
// threads (process.OneSupervisorThread).
func Run(ctx context.Context, args []string, stderr io.Writer) error {
	o := process.SupervisorOptions{Log: stderr}
	fs := flag.NewFlagSet("kjet "+Subcommand, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Dir, "dir", "", "the supervisor's directory (socket, pid file, container records); required")
	fs.DurationVar(&o.IdleTimeout, "idle-timeout", 0, "exit after this long with no client and no running container (default 30s)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if o.Dir == "" {
		return errors.New(`required flag "dir" not set`)
	}
	process.OneSupervisorThread()
	return process.RunSupervisor(ctx, o)
}
