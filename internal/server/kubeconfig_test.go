package server

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kjet-dev/kjet/internal/pki"
)

func TestWriteKubeconfig(t *testing.T) {
	dir := t.TempDir()
	creds, err := pki.Ensure(pki.Options{Dir: filepath.Join(dir, "pki")})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "kubeconfig")
	tests := []struct {
		name string
		url  string
		// rewritten: the file is replaced (a new inode), not left as it was.
		rewritten bool
	}{
		{name: "no file yet", url: "https://127.0.0.1:6443", rewritten: true},
		{name: "same server again", url: "https://127.0.0.1:6443", rewritten: false},
		{name: "another port", url: "https://127.0.0.1:40000", rewritten: true},
	}
	var before os.FileInfo
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := writeKubeconfig(creds, path, tt.url); err != nil {
				t.Fatalf("writeKubeconfig: %v", err)
			}
			after, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if rewritten := before == nil || !os.SameFile(before, after); rewritten != tt.rewritten {
				t.Errorf("rewritten = %v, want %v", rewritten, tt.rewritten)
			}
			before = after
			cfg, err := clientcmd.LoadFromFile(path)
			if err != nil {
				t.Fatalf("loading the kubeconfig: %v", err)
			}
			if got := cfg.Clusters[cfg.Contexts[cfg.CurrentContext].Cluster].Server; got != tt.url {
				t.Errorf("server = %q, want %q", got, tt.url)
			}
			if after.Mode().Perm() != 0o600 {
				t.Errorf("mode = %v, want 0600", after.Mode().Perm())
			}
		})
	}
}
