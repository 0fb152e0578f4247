package pki

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

func TestEnsureCreatesAndReloads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	first, err := Ensure(Options{Dir: dir})
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if len(first.Token) != 64 {
		t.Fatalf("token length = %d, want 64", len(first.Token))
	}
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("pki dir mode = %v, want 0700", st.Mode().Perm())
	}
	for _, f := range []string{CACertFile, CAKeyFile, ServingCertFile, ServingKeyFile, TokenFile} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatalf("stat %s: %v", f, err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %v, want 0600", f, st.Mode().Perm())
		}
	}
	leaf := parseLeaf(t, first)
	for _, h := range []string{"127.0.0.1", "::1", "localhost"} {
		if err := leaf.VerifyHostname(h); err != nil {
			t.Errorf("serving cert does not cover %s: %v", h, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: first.CAPool, DNSName: "localhost"}); err != nil {
		t.Errorf("serving cert does not verify against CA: %v", err)
	}

	second, err := Ensure(Options{Dir: dir})
	if err != nil {
		t.Fatalf("second Ensure: %v", err)
	}
	if second.Token != first.Token || string(second.CACertPEM) != string(first.CACertPEM) {
		t.Fatal("reload changed token or CA")
	}
	if string(second.Serving.Certificate[0]) != string(first.Serving.Certificate[0]) {
		t.Fatal("reload regenerated a serving certificate that was still good")
	}
}

func TestEnsureRegeneratesServingForNewHost(t *testing.T) {
	cases := []struct {
		name    string
		host    string
		renewed bool
	}{
		{"covered loopback", "127.0.0.1", false},
		{"unspecified address", "0.0.0.0", false},
		{"new ip", "192.0.2.7", true},
		{"new dns name", "kjet.example", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			first, err := Ensure(Options{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			second, err := Ensure(Options{Dir: dir, Hosts: []string{tc.host}})
			if err != nil {
				t.Fatal(err)
			}
			renewed := string(second.Serving.Certificate[0]) != string(first.Serving.Certificate[0])
			if renewed != tc.renewed {
				t.Fatalf("renewed = %v, want %v", renewed, tc.renewed)
			}
			if string(second.CACertPEM) != string(first.CACertPEM) {
				t.Fatal("CA changed")
			}
			if tc.renewed {
				if err := parseLeaf(t, second).VerifyHostname(tc.host); err != nil {
					t.Fatalf("renewed cert does not cover %s: %v", tc.host, err)
				}
			}
		})
	}
}

func TestEnsureRenewsNearExpiry(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	first, err := Ensure(Options{Dir: dir, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	later := now.Add(servingValidity - renewBefore/2)
	second, err := Ensure(Options{Dir: dir, Now: func() time.Time { return later }})
	if err != nil {
		t.Fatal(err)
	}
	if string(second.Serving.Certificate[0]) == string(first.Serving.Certificate[0]) {
		t.Fatal("serving certificate close to expiry was not renewed")
	}
}

func TestEnsureRejectsMalformedToken(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, TokenFile), []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Ensure(Options{Dir: dir}); err == nil {
		t.Fatal("Ensure accepted a malformed token")
	}
}

func TestWriteKubeconfig(t *testing.T) {
	dir := t.TempDir()
	creds, err := Ensure(Options{Dir: filepath.Join(dir, "pki")})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "kubeconfig")
	if err := creds.WriteKubeconfig(path, "https://127.0.0.1:6443"); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("kubeconfig mode = %v, want 0600", st.Mode().Perm())
	}
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CurrentContext != "kjet" {
		t.Errorf("current context = %q", cfg.CurrentContext)
	}
	rc, err := clientcmd.NewDefaultClientConfig(*cfg, nil).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	if rc.Host != "https://127.0.0.1:6443" || rc.BearerToken != creds.Token || string(rc.CAData) != string(creds.CACertPEM) {
		t.Fatalf("unexpected rest config: host %q token %q", rc.Host, rc.BearerToken)
	}
}

func parseLeaf(t *testing.T, c *Credentials) *x509.Certificate {
	t.Helper()
	leaf, err := x509.ParseCertificate(c.Serving.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}
