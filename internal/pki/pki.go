// Package pki creates and loads the credentials kjet's API server needs: a private
// certificate authority, a serving certificate for the addresses the server listens on,
// and the admin bearer token, all kept under DATA_DIR/pki. It also writes the admin
// kubeconfig that points kubectl at the server.
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// File names inside the pki directory.
const (
	CACertFile      = "ca.crt"
	CAKeyFile       = "ca.key"
	ServingCertFile = "serving.crt"
	ServingKeyFile  = "serving.key"
	TokenFile       = "token"
)

const (
	caValidity      = 10 * 365 * 24 * time.Hour
	servingValidity = 365 * 24 * time.Hour
	// renewBefore is how long before expiry a serving certificate is replaced.
	renewBefore = 30 * 24 * time.Hour
	tokenBytes  = 32
)

// Options says where the credentials live and which names the serving certificate
// must cover.
type Options struct {
	// Dir is the pki directory (DATA_DIR/pki). Created 0700 when missing.
	Dir string
	// Hosts are extra DNS names or IP addresses the serving certificate must cover,
	// typically the host of --listen. 127.0.0.1, ::1 and localhost are always covered.
	Hosts []string
	// Now returns the current time; defaults to time.Now.
	Now func() time.Time
}

// Credentials are the loaded CA, serving certificate and admin token.
type Credentials struct {
	// CACertPEM is the CA certificate in PEM form (certificate-authority-data).
	CACertPEM []byte
	// CAPool holds the CA certificate, for clients.
	CAPool *x509.CertPool
	// Serving is the server's TLS certificate, chained to the CA.
	Serving tls.Certificate
	// Token is the admin bearer token (64 hex characters).
	Token string
}

// defaultHosts are always in the serving certificate.
var defaultHosts = []string{"127.0.0.1", "::1", "localhost"}

// Ensure loads the credentials from opts.Dir, creating whatever is missing: the CA, the
// token, and a serving certificate. An existing serving certificate is replaced when it
// does not cover every requested host, is not signed by the CA, or is close to expiry.
func Ensure(opts Options) (*Credentials, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating pki directory: %w", err)
	}
	if err := os.Chmod(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("restricting pki directory: %w", err)
	}
	caCert, caKey, caPEM, err := ensureCA(opts)
	if err != nil {
		return nil, err
	}
	serving, err := ensureServing(opts, caCert, caKey)
	if err != nil {
		return nil, err
	}
	token, err := ensureToken(filepath.Join(opts.Dir, TokenFile))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return &Credentials{CACertPEM: caPEM, CAPool: pool, Serving: serving, Token: token}, nil
}

func ensureCA(opts Options) (*x509.Certificate, *ecdsa.PrivateKey, []byte, error) {
	certPath := filepath.Join(opts.Dir, CACertFile)
	keyPath := filepath.Join(opts.Dir, CAKeyFile)
	certPEM, certErr := os.ReadFile(certPath)
	keyPEM, keyErr := os.ReadFile(keyPath)
	if certErr == nil && keyErr == nil {
		cert, key, err := parsePair(certPEM, keyPEM)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("loading CA from %s: %w", opts.Dir, err)
		}
		return cert, key, certPEM, nil
	}
	if (certErr != nil && !errors.Is(certErr, fs.ErrNotExist)) || (keyErr != nil && !errors.Is(keyErr, fs.ErrNotExist)) {
		return nil, nil, nil, fmt.Errorf("reading CA: %w", errors.Join(certErr, keyErr))
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("generating CA key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, nil, err
	}
	now := opts.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "kjet-ca", Organization: []string{"kjet"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("signing CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("parsing new CA certificate: %w", err)
	}
	certPEM, keyPEM, err = encodePair(der, key)
	if err != nil {
		return nil, nil, nil, err
	}
	// Key first: a crash between the two writes leaves no certificate without its key.
	if err := writeFile(keyPath, keyPEM); err != nil {
		return nil, nil, nil, err
	}
	if err := writeFile(certPath, certPEM); err != nil {
		return nil, nil, nil, err
	}
	// A new CA invalidates any serving certificate left from an earlier one.
	_ = os.Remove(filepath.Join(opts.Dir, ServingCertFile))
	return cert, key, certPEM, nil
}

func ensureServing(opts Options, caCert *x509.Certificate, caKey *ecdsa.PrivateKey) (tls.Certificate, error) {
	certPath := filepath.Join(opts.Dir, ServingCertFile)
	keyPath := filepath.Join(opts.Dir, ServingKeyFile)
	hosts := wantedHosts(opts.Hosts)
	certPEM, certErr := os.ReadFile(certPath)
	keyPEM, keyErr := os.ReadFile(keyPath)
	if certErr == nil && keyErr == nil {
		cert, _, err := parsePair(certPEM, keyPEM)
		if err == nil && servingUsable(cert, caCert, hosts, opts.Now()) {
			return tlsCertificate(certPEM, keyPEM, caCert)
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generating serving key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return tls.Certificate{}, err
	}
	now := opts.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "kjet-apiserver", Organization: []string{"kjet"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(servingValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("signing serving certificate: %w", err)
	}
	certPEM, keyPEM, err = encodePair(der, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := writeFile(keyPath, keyPEM); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeFile(certPath, certPEM); err != nil {
		return tls.Certificate{}, err
	}
	return tlsCertificate(certPEM, keyPEM, caCert)
}

// wantedHosts is the default hosts plus the extra ones, without duplicates or blanks.
func wantedHosts(extra []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, h := range append(append([]string{}, defaultHosts...), extra...) {
		h = strings.Trim(strings.TrimSpace(h), "[]")
		if h == "" || seen[h] {
			continue
		}
		if ip := net.ParseIP(h); ip != nil && ip.IsUnspecified() {
			// 0.0.0.0 / :: are not addresses a client dials; the certificate covers
			// the loopback names and any explicit host only.
			continue
		}
		seen[h] = true
		out = append(out, h)
	}
	return out
}

// servingUsable reports whether cert is signed by ca, covers every host and is not
// about to expire.
func servingUsable(cert, ca *x509.Certificate, hosts []string, now time.Time) bool {
	if err := cert.CheckSignatureFrom(ca); err != nil {
		return false
	}
	if now.Add(renewBefore).After(cert.NotAfter) || now.Before(cert.NotBefore) {
		return false
	}
	for _, h := range hosts {
		if err := cert.VerifyHostname(h); err != nil {
			return false
		}
	}
	return true
}

func tlsCertificate(certPEM, keyPEM []byte, ca *x509.Certificate) (tls.Certificate, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("loading serving key pair: %w", err)
	}
	pair.Certificate = append(pair.Certificate, ca.Raw)
	return pair, nil
}

func ensureToken(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		tok := strings.TrimSpace(string(data))
		if len(tok) == 2*tokenBytes {
			if _, err := hex.DecodeString(tok); err == nil {
				return tok, nil
			}
		}
		return "", fmt.Errorf("token file %s is malformed (want %d hex characters); remove it to create a new token", path, 2*tokenBytes)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("reading token: %w", err)
	}
	buf := make([]byte, tokenBytes)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("generating token: %w", err)
	}
	tok := hex.EncodeToString(buf)
	if err := writeFile(path, []byte(tok+"\n")); err != nil {
		return "", err
	}
	return tok, nil
}

func parsePair(certPEM, keyPEM []byte) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, nil, errors.New("no CERTIFICATE block")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("parsing certificate: %w", err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, nil, errors.New("no private key block")
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("parsing private key: %w", err)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return nil, nil, errors.New("certificate and key do not match")
	}
	return cert, key, nil
}

func encodePair(der []byte, key *ecdsa.PrivateKey) (certPEM, keyPEM []byte, err error) {
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding private key: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	return certPEM, keyPEM, nil
}

func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 127)
	n, err := rand.Int(rand.Reader, limit)
	if err != nil {
		return nil, fmt.Errorf("generating serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

// writeFile writes data to path with mode 0600 atomically (temporary file + rename), so a
// crash never leaves a half-written credential behind.
func writeFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	name := tmp.Name()
	defer os.Remove(name)
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("syncing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// WriteFile writes data to path as 0600, atomically; exported for the kubeconfig writer
// and other credential files.
func WriteFile(path string, data []byte) error { return writeFile(path, data) }
