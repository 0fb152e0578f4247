package server

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/kjet-dev/kjet/internal/apiserver"
	"github.com/kjet-dev/kjet/internal/apiserver/openapi"
	"github.com/kjet-dev/kjet/internal/registry/catalog"
	"github.com/kjet-dev/kjet/internal/storage/bolt"
)

// Run runs kjet's all-in-one server until ctx ends (SIGTERM/SIGINT in the command),
// then shuts down gracefully and returns nil, or returns the first failure. In order:
// the listener; then at once the credentials under DATA_DIR/pki and DATA_DIR/kubeconfig,
// and the store at DATA_DIR/state.db with the API server over catalog.Resources() and
// its bootstrap objects; then the "kjet ready: <url>" line on Stderr, and the Components.
func Run(ctx context.Context, opts Options) error {
	return run(ctx, opts, openBolt)
}

// openBolt builds the real backend: the bolt store and the API server over it.
func openBolt(ctx context.Context, o Options) (*backend, error) {
	store, err := bolt.Open(filepath.Join(o.DataDir, StateFile), bolt.Options{})
	if err != nil {
		return nil, fmt.Errorf("opening state store: %w", err)
	}
	resources := catalog.Resources()
	oapi, err := openapi.NewHandler(resources)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("building openapi handler: %w", err)
	}
	api, err := apiserver.New(apiserver.Options{
		Storage:   store,
		Resources: resources,
		Pods:      o.Pods,
		OpenAPI:   oapi,
		Version:   VersionInfo(o.Version),
		EventTTL:  o.EventTTL,
	})
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("building api server: %w", err)
	}
	if err := api.Bootstrap(ctx); err != nil {
		store.Close()
		return nil, fmt.Errorf("bootstrapping api objects: %w", err)
	}
	return &backend{handler: api.Handler(), run: api.Run, close: store.Close}, nil
}
