package main

import (
	"testing"

	"github.com/kjet-dev/kjet/cmd/kjet/internal/kubectli18n"
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
