// Package process runs containers as supervised host processes: the default
// runtime.Runtime of a kjet node.
//
// The processes belong to one supervisor per node, a separate long-lived process (the
// role containerd-shim or conmon play, shared by all containers so that a container
// costs one fork/exec). It forks each container in its own process group, cgroup and,
// with volumes, mount namespace; writes its output to the CRI log file; reaps it and
// records its exit durably in DIR/containers.journal. Containers therefore survive
// the kjet server being restarted or killed; a new Runtime re-attaches to the running
// supervisor and learns every exit it missed.
//
// The server starts the supervisor by re-executing its own binary (a hidden
// `kjet supervisor --dir DIR` subcommand that calls RunSupervisor, from kjet's package
// initialisation so that the rest of the binary never initialises in it; see
// cmd/kjet/internal/supervisormain) in its own session; clients talk to it over
// DIR/supervisor.sock.
//
// Layout of the supervisor's directory (Options.Dir, SupervisorOptions.Dir):
//
//	supervisor.sock       the supervisor's socket (JSON lines, see protocol.go)
//	supervisor.pid        its PID
//	supervisor.lock       flock held while it runs: one supervisor per directory
//	supervisor.log        its diagnostics
//	containers.journal    the containers' records, one JSON line per change (journal.go)
//	containers/<id>.stdin the FIFO feeding a Stdin container
//
// Limits go into a cgroup per container (<hierarchy>/kjet/<id>): cgroup v2 when the
// host is unified, else v1's memory and cpu controllers. A memory limit that cannot
// be enforced makes the container fail with StartError rather than run unlimited.
package process
