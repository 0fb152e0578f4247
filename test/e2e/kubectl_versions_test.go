package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// sdkKubectlDir holds the Cloud SDK's per-minor kubectl binaries (kubectl.1.27 ...)
// beside the version dispatcher installed as /usr/bin/kubectl.
const sdkKubectlDir = "/usr/lib/google-cloud-sdk/bin"

// TestKubectlVersionMatrix runs the basic flow (discovery, OpenAPI-validated apply, get)
// with every released kubectl installed on the machine.
func TestKubectlVersionMatrix(t *testing.T) {
	t.Parallel()
	bins, _ := filepath.Glob(filepath.Join(sdkKubectlDir, "kubectl.1.*"))
	if len(bins) == 0 {
		t.Skipf("no versioned kubectl binaries in %s", sdkKubectlDir)
	}
	s := startServer(t)
	for _, bin := range bins {
		bin := bin
		version := strings.TrimPrefix(filepath.Base(bin), "kubectl.")
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			home := t.TempDir()
			ns := "kubectl-" + strings.ReplaceAll(version, ".", "-")
			kubectl := func(args ...string) string {
				t.Helper()
				out, errOut, err := s.runWithHome(t, home, bin, append([]string{"--kubeconfig", s.Kubeconfig}, args...))
				if err != nil {
					t.Fatalf("kubectl %s %s: %v\nstdout: %s\nstderr: %s", version, strings.Join(args, " "), err, out, errOut)
				}
				return out
			}
			if out := kubectl("get", "ns", "-o", "name"); !strings.Contains(out, "namespace/kube-system") {
				t.Fatalf("get ns: %s", out)
			}
			kubectl("create", "ns", ns)
			if out := kubectl("apply", "-n", ns, "-f", jobManifest); !strings.Contains(out, "job.batch/batch-job created") {
				t.Fatalf("apply: %s", out)
			}
			if out := kubectl("get", "job", "-n", ns, "batch-job", "-o", "jsonpath={.spec.template.spec.containers[0].image}"); out != "luksa/batch-job" {
				t.Fatalf("get job image = %q", out)
			}
		})
	}
}
