package pki

import (
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Names used in the admin kubeconfig.
const (
	KubeconfigCluster = "kjet"
	KubeconfigUser    = "admin"
	KubeconfigContext = "kjet"
)

// Kubeconfig returns the admin kubeconfig for a server at serverURL
// (https://host:port): cluster "kjet" with the CA inline, user "admin" with the token,
// and context "kjet" selected.
func (c *Credentials) Kubeconfig(serverURL string) *clientcmdapi.Config {
	cfg := clientcmdapi.NewConfig()
	cluster := clientcmdapi.NewCluster()
	cluster.Server = serverURL
	cluster.CertificateAuthorityData = c.CACertPEM
	cfg.Clusters[KubeconfigCluster] = cluster
	user := clientcmdapi.NewAuthInfo()
	user.Token = c.Token
	cfg.AuthInfos[KubeconfigUser] = user
	kctx := clientcmdapi.NewContext()
	kctx.Cluster = KubeconfigCluster
	kctx.AuthInfo = KubeconfigUser
	kctx.Namespace = "default"
	cfg.Contexts[KubeconfigContext] = kctx
	cfg.CurrentContext = KubeconfigContext
	return cfg
}

// WriteKubeconfig writes the admin kubeconfig for serverURL to path (mode 0600,
// atomically).
func (c *Credentials) WriteKubeconfig(path, serverURL string) error {
	data, err := clientcmd.Write(*c.Kubeconfig(serverURL))
	if err != nil {
		return fmt.Errorf("encoding kubeconfig: %w", err)
	}
	if err := writeFile(path, data); err != nil {
		return fmt.Errorf("writing kubeconfig: %w", err)
	}
	return nil
}

// RESTConfig returns a client configuration for the server at serverURL that trusts the
// CA and authenticates with the admin token; in-process components use it.
func (c *Credentials) RESTConfig(serverURL string) *rest.Config {
	return &rest.Config{
		Host:        serverURL,
		BearerToken: c.Token,
		TLSClientConfig: rest.TLSClientConfig{
			CAData: append([]byte(nil), c.CACertPEM...),
		},
	}
}
