package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/tools/clientcmd"
)

// jobManifest is seed 004's Job (examples/batch-job.yaml).
var jobManifest = filepath.Join(repoRoot, "examples", "batch-job.yaml")

func TestReadyLineAndKubeconfig(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	if !strings.HasPrefix(s.URL, "https://127.0.0.1:") || strings.HasSuffix(s.URL, ":0") {
		t.Fatalf("ready URL = %q", s.URL)
	}
	if n := strings.Count(s.Stderr(), "kjet ready:"); n != 1 {
		t.Fatalf("%d ready lines", n)
	}
	cfg, err := clientcmd.LoadFromFile(s.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cluster := cfg.Clusters[cfg.Contexts[cfg.CurrentContext].Cluster]
	if cfg.CurrentContext != "kjet" || cluster == nil || cluster.Server != s.URL || len(cluster.CertificateAuthorityData) == 0 {
		t.Fatalf("kubeconfig: current %q cluster %+v", cfg.CurrentContext, cluster)
	}
	if u := cfg.AuthInfos["admin"]; u == nil || len(u.Token) != 64 {
		t.Fatal("kubeconfig has no admin token")
	}
	modes := []struct {
		path string
		want os.FileMode
	}{
		{s.Kubeconfig, 0o600},
		{filepath.Join(s.DataDir, "pki"), 0o700},
		{filepath.Join(s.DataDir, "pki", "token"), 0o600},
		{filepath.Join(s.DataDir, "pki", "ca.key"), 0o600},
		{filepath.Join(s.DataDir, "pki", "serving.key"), 0o600},
		{filepath.Join(s.DataDir, "state.db"), 0o600},
	}
	for _, m := range modes {
		st, err := os.Stat(m.path)
		if err != nil {
			t.Errorf("stat %s: %v", m.path, err)
			continue
		}
		if st.Mode().Perm() != m.want {
			t.Errorf("%s mode %v, want %v", m.path, st.Mode().Perm(), m.want)
		}
	}
	t.Logf("start-up (fresh data dir, process start to ready line): %v", s.StartupTime)
}

// httpClient returns a client that trusts the server's CA, and the admin token.
func httpClient(t *testing.T, s *Server) (*http.Client, string) {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(s.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(cfg.Clusters["kjet"].CertificateAuthorityData) {
		t.Fatal("bad CA data")
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}, cfg.AuthInfos["admin"].Token
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	client, token := httpClient(t, s)
	cases := []struct {
		name, auth string
		want       int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"wrong token", "Bearer " + strings.Repeat("0", 64), http.StatusUnauthorized},
		{"admin token", "Bearer " + token, http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, s.URL+"/api", nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want, body)
			}
			if tc.want == http.StatusUnauthorized {
				var st metav1.Status
				if err := json.Unmarshal(body, &st); err != nil || st.Reason != metav1.StatusReasonUnauthorized || st.Kind != "Status" {
					t.Fatalf("body %s (%v)", body, err)
				}
			}
		})
	}
	_, errOut, err := s.run(t, kjetBinary, []string{"kubectl", "--token", "nope", "--kubeconfig", s.Kubeconfig, "get", "ns"})
	if err == nil || !strings.Contains(errOut, "You must be logged in to the server") {
		t.Fatalf("kubectl with a wrong token: err %v stderr %s", err, errOut)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	client, token := httpClient(t, s)
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/version", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v version.Info
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	if v.Major != "1" || v.Minor != "37" || !strings.HasPrefix(v.GitVersion, "v1.37.2+kjet.") {
		t.Fatalf("/version = %+v", v)
	}
	out, _, err := s.run(t, kjetBinary, []string{"version"})
	if err != nil || !strings.Contains(out, "Kubernetes API version: v1.37.2") {
		t.Fatalf("kjet version: %v\n%s", err, out)
	}
}

func TestGetNamespaces(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	out := s.mustKubectl(t, "get", "ns")
	for _, ns := range []string{"default", "kube-system", "kube-public"} {
		if !strings.Contains(out, ns) {
			t.Errorf("get ns lacks %s:\n%s", ns, out)
		}
	}
}

func TestSystemKubectlGetNamespaces(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(systemKubectl); err != nil {
		t.Skipf("no system kubectl at %s", systemKubectl)
	}
	s := startServer(t)
	out, errOut, err := s.SystemKubectl(t, "get", "ns", "-o", "name")
	if err != nil {
		t.Fatalf("system kubectl: %v\n%s", err, errOut)
	}
	if !strings.Contains(out, "namespace/default") {
		t.Fatalf("system kubectl get ns:\n%s", out)
	}
}

func TestApplyJobAndGetYAML(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	out := s.mustKubectl(t, "apply", "-f", jobManifest)
	if !strings.Contains(out, "job.batch/batch-job created") {
		t.Fatalf("apply: %s", out)
	}
	y := s.mustKubectl(t, "get", "job", "batch-job", "-o", "yaml")
	for _, want := range []string{"kind: Job", "name: batch-job", "uid: ", "resourceVersion: ", "backoffLimit: 6", "image: luksa/batch-job"} {
		if !strings.Contains(y, want) {
			t.Errorf("get job -o yaml lacks %q:\n%s", want, y)
		}
	}
	// Re-applying the unchanged manifest computes a patch from the OpenAPI schema.
	out = s.mustKubectl(t, "apply", "-f", jobManifest)
	if !strings.Contains(out, "job.batch/batch-job unchanged") {
		t.Fatalf("re-apply: %s", out)
	}
}

func TestExplainUsesOpenAPI(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	out := s.mustKubectl(t, "explain", "job.spec.backoffLimit")
	if !strings.Contains(out, "backoffLimit") || !strings.Contains(out, "integer") {
		t.Fatalf("explain:\n%s", out)
	}
}

// TestRestartKeepsObjects: a finished Job is back after kill -9 and a restart with the
// same uid and resourceVersion. It waits for the Job to complete first: while its pod
// runs, the Job controller still writes its status (active, ready), so a
// resourceVersion read then may be older than the one the server was killed at.
func TestRestartKeepsObjects(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.mustKubectl(t, "apply", "-f", jobManifest)
	s.mustKubectl(t, "wait", "--for=condition=complete", "job/batch-job", "--timeout=60s")
	const jp = `-o=jsonpath={.metadata.uid} {.metadata.resourceVersion}`
	before := s.mustKubectl(t, "get", "job", "batch-job", jp)
	s.Kill9(t)

	s2 := startServerIn(t, s.DataDir)
	after := s2.mustKubectl(t, "get", "job", "batch-job", jp)
	if before != after || strings.TrimSpace(before) == "" {
		t.Fatalf("uid and resourceVersion before kill -9 %q, after restart %q", before, after)
	}
	t.Logf("restart start-up (existing data dir, process start to ready line): %v", s2.StartupTime)
}

func TestSIGTERMShutsDownCleanly(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.mustKubectl(t, "get", "ns")
	if err := s.Stop(t); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, s.Stderr())
	}
}
