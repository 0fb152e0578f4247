// Package runtime defines how the node agent runs containers. The agent owns a pod's
// lifecycle (restart policy, back-off, probes, deadlines, status); a Runtime only starts,
// stops, waits for and execs into containers, and keeps their logs. Implementations live
// in sub-packages: process (supervised host processes, the default).
package runtime

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned for a container ID the runtime does not know.
var ErrNotFound = errors.New("runtime: container not found")

// Mount is one volume mounted into a container.
type Mount struct {
	// HostPath is the directory or file on the host (already populated by the agent).
	HostPath string
	// ContainerPath is the mountPath from the pod spec.
	ContainerPath string
	ReadOnly      bool
}

// ContainerConfig is a fully resolved container: the agent has already expanded
// $(VAR) references, resolved env sources and prepared volume directories.
type ContainerConfig struct {
	// ID names this container attempt uniquely on the node; the agent builds it from
	// the pod UID, container name and attempt number so it can find it again after a
	// restart of kjet.
	ID string
	// Pod identity, recorded with the container for listing after a restart.
	PodNamespace, PodName, PodUID string
	ContainerName                 string
	Attempt                       int
	// Argv is command+args; Argv[0] is looked up in PATH when it has no slash.
	Argv       []string
	Env        []string // KEY=VALUE
	WorkingDir string
	// LogPath is the file the container's stdout and stderr go to, in the CRI log
	// format (RFC3339Nano timestamp, stream, tag, line), one file per attempt.
	LogPath string
	// Resource limits; zero means unlimited.
	MemoryLimitBytes int64
	CPUMilli         int64
	// RunAsUser/RunAsGroup apply when kjet runs as root.
	RunAsUser, RunAsGroup *int64
	Mounts                []Mount
	// GPUs lists device indexes given to the container (CUDA_VISIBLE_DEVICES).
	GPUs []int
	// Stdin keeps a pipe to the process's stdin open for attach; TTY allocates a pty.
	Stdin, TTY bool
}

// State is where a container is in its life.
type State string

const (
	StateRunning State = "running"
	StateExited  State = "exited"
)

// ContainerStatus is what the runtime knows about one container attempt.
type ContainerStatus struct {
	ID         string
	Config     ContainerConfig
	State      State
	PID        int
	StartedAt  time.Time
	FinishedAt time.Time
	// ExitCode is the process's exit code; for a signal death it is 128+signal.
	ExitCode int
	Signal   int
	// Reason is "Completed", "Error", "OOMKilled", "StartError" for exited containers.
	Reason  string
	Message string
}

// ExecOptions describe a command run inside a running container's environment.
type ExecOptions struct {
	Argv   []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	TTY    bool
	// Resize delivers terminal size changes when TTY is set.
	Resize <-chan TerminalSize
}

// TerminalSize is a tty's size in characters.
type TerminalSize struct {
	Width, Height uint16
}

// Runtime runs containers on one node.
type Runtime interface {
	// Start runs the container and returns once the process exists (or failed to
	// start: then the status is exited with reason StartError and err is nil, so the
	// agent can report it like any other termination).
	Start(ctx context.Context, cfg ContainerConfig) (ContainerStatus, error)
	// Stop sends SIGTERM to the container's process group and SIGKILL after grace.
	Stop(ctx context.Context, id string, grace time.Duration) error
	// Status returns the container's current status.
	Status(ctx context.Context, id string) (ContainerStatus, error)
	// List returns every container the runtime knows, running or exited, including
	// those started before a restart of kjet.
	List(ctx context.Context) ([]ContainerStatus, error)
	// Remove forgets an exited container (its log file stays with the pod's directory).
	Remove(ctx context.Context, id string) error
	// Exited delivers the ID of each container as it exits, for as long as ctx lives.
	Exited(ctx context.Context) <-chan string
	// Exec runs a command in the container's environment and returns its exit code.
	Exec(ctx context.Context, id string, opts ExecOptions) (int, error)
	// Attach connects to the container's stdin/stdout/stderr.
	Attach(ctx context.Context, id string, opts ExecOptions) error
}
