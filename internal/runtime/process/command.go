package process

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/kjet-dev/kjet/internal/runtime"
)

// defaultPath is the PATH used when a container's environment has none (kubelet's
// and Docker's default).
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// startError is a failure to start a container's process: the container is reported
// as exited with reason StartError rather than as an error of the runtime call.
type startError struct{ msg string }

func (e *startError) Error() string { return e.msg }

func startErrorf(format string, args ...any) error {
	return &startError{msg: fmt.Sprintf(format, args...)}
}

// containerEnv is the process environment: the configured one plus
// CUDA_VISIBLE_DEVICES for assigned GPUs.
func containerEnv(cfg *runtime.ContainerConfig) []string {
	env := append([]string(nil), cfg.Env...)
	if len(cfg.GPUs) > 0 {
		ids := make([]string, len(cfg.GPUs))
		for i, g := range cfg.GPUs {
			ids[i] = strconv.Itoa(g)
		}
		env = append(env, "CUDA_VISIBLE_DEVICES="+strings.Join(ids, ","))
	}
	return env
}

// lookPath resolves argv0 against the PATH in env (or defaultPath), the way the
// container's own exec would.
func lookPath(argv0 string, env []string) (string, error) {
	if strings.Contains(argv0, "/") {
		if err := checkExecutable(argv0); err != nil {
			return "", &exec.Error{Name: argv0, Err: err}
		}
		return argv0, nil
	}
	path := defaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, argv0)
		if checkExecutable(p) == nil {
			return p, nil
		}
	}
	return "", &exec.Error{Name: argv0, Err: exec.ErrNotFound}
}

func checkExecutable(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return errors.New("no such file or directory")
		}
		return err
	}
	if st.IsDir() {
		return errors.New("is a directory")
	}
	if st.Mode()&0o111 == 0 {
		return errors.New("permission denied")
	}
	return nil
}

// credential maps RunAsUser/RunAsGroup to the child's credentials. Changing user
// needs root; without it only the current identity can be honoured.
func credential(cfg *runtime.ContainerConfig) (*syscall.Credential, error) {
	if cfg.RunAsUser == nil && cfg.RunAsGroup == nil {
		return nil, nil
	}
	uid, gid := int64(os.Getuid()), int64(os.Getgid())
	want := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}
	if cfg.RunAsUser != nil {
		want.Uid = uint32(*cfg.RunAsUser)
	}
	if cfg.RunAsGroup != nil {
		want.Gid = uint32(*cfg.RunAsGroup)
	}
	if int64(want.Uid) == uid && int64(want.Gid) == gid {
		return nil, nil
	}
	if os.Geteuid() != 0 {
		return nil, startErrorf("runAsUser %d/runAsGroup %d need kjet to run as root", want.Uid, want.Gid)
	}
	want.NoSetGroups = false
	return want, nil
}

// startMessage turns a failure of os.StartProcess into Kubernetes' wording.
func startMessage(argv0 string, err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Sprintf("exec: %q: %v", argv0, pe.Err)
	}
	return err.Error()
}
