package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kjet-dev/kjet/cmd/kjet/internal/kubectli18n"
	"github.com/kjet-dev/kjet/cmd/kjet/internal/supervisormain"
)

// TestLoaderRunsBeforeKubectl checks that kjet's translation loader was installed
// before kubectl's command packages (linked into this test binary) were initialised.
func TestLoaderRunsBeforeKubectl(t *testing.T) {
	if err := kubectli18n.Err(); err != nil {
		t.Fatalf("kubectl translations were loaded before kjet's loader was installed: %v", err)
	}
}

func TestDefaultKubeconfig(t *testing.T) {
	cases := []struct {
		name, kubeconfigEnv, dataDirEnv, dataDirFlag, want string
	}{
		{"flag data dir", "", "", "/d", "/d/kubeconfig"},
		{"env data dir", "", "/e", "", "/e/kubeconfig"},
		{"KUBECONFIG wins", "/k", "/e", "/d", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", tc.kubeconfigEnv)
			t.Setenv("KJET_DATA_DIR", tc.dataDirEnv)
			got, err := defaultKubeconfig(tc.dataDirFlag)
			if err != nil || got != tc.want {
				t.Fatalf("defaultKubeconfig = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestSupervisorSkipsKubernetesInit starts this test binary (which links everything
// kjet links) as `kjet supervisor` and checks, with the runtime's initialisation
// trace, that the supervisor ran before kubectl's, client-go's and the API types'
// packages were initialised, and that it exits cleanly once idle.
func TestSupervisorSkipsKubernetesInit(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], supervisormain.Subcommand, "--dir", dir, "--idle-timeout", "50ms")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("supervisor: %v\n%s", err, out)
	}
	trace := string(out)
	if !strings.Contains(trace, "exiting: idle") {
		t.Fatalf("the supervisor did not run to its idle exit:\n%s", trace)
	}
	for _, pkg := range []string{"k8s.io/kubectl/pkg/cmd/", "k8s.io/kubectl/pkg/scheme", "k8s.io/client-go/kubernetes/scheme", "k8s.io/api/core/v1", "github.com/spf13/cobra"} {
		if strings.Contains(trace, "init "+pkg) {
			t.Errorf("%s was initialised in the supervisor", pkg)
		}
	}
	// The trace is only evidence if it was written: the process runtime's own
	// dependencies initialise first.
	if !strings.Contains(trace, "init golang.org/x/sys/unix") && !strings.Contains(trace, "init github.com/") {
		t.Fatalf("no initialisation trace in the output:\n%s", trace)
	}
}
