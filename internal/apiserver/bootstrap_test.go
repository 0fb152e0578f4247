package apiserver

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/version"

	"github.com/kjet-dev/kjet/internal/storage/memory"
)

// TestBootstrapOnExistingStore restarts a server over a store that was bootstrapped
// before: it must find every object in place without building the field managers (the
// start-up cost that Bootstrap used to pay on every start), and put back what is missing.
func TestBootstrapOnExistingStore(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// remove lists storage keys deleted before the restart.
		remove []string
		// wantTypeConverter: the restart has something to create, so it needs one.
		wantTypeConverter bool
	}{
		{name: "everything in place"},
		{name: "default service account missing", remove: []string{"/registry/core/serviceaccounts/kube-public/default"}, wantTypeConverter: true},
		{name: "namespace missing", remove: []string{"/registry/core/namespaces/kube-node-lease"}, wantTypeConverter: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := memory.New(memory.Options{})
			t.Cleanup(func() { _ = store.Close() })
			newServer := func() *Server {
				s, err := New(Options{Storage: store, Resources: testResources(), Version: version.Info{GitVersion: "v1.37.2+kjet.test"}})
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if err := s.Bootstrap(ctx); err != nil {
					t.Fatalf("Bootstrap: %v", err)
				}
				return s
			}
			newServer()
			for _, key := range tt.remove {
				if _, err := store.Delete(ctx, key, 0); err != nil {
					t.Fatalf("deleting %s: %v", key, err)
				}
			}
			revBefore := store.Revision()

			restarted := newServer()
			if got := restarted.typeConverter != nil; got != tt.wantTypeConverter {
				t.Errorf("type converter built = %v, want %v", got, tt.wantTypeConverter)
			}
			for _, ns := range bootstrapNamespaces {
				if _, _, err := restarted.readObject(ctx, restarted.namespaces, "", ns); err != nil {
					t.Errorf("namespace %s: %v", ns, err)
				}
				if _, _, err := restarted.readObject(ctx, restarted.serviceAccounts, ns, "default"); err != nil {
					t.Errorf("default service account of %s: %v", ns, err)
				}
			}
			revAfter := store.Revision()
			if wrote := revAfter != revBefore; wrote != (len(tt.remove) > 0) {
				t.Errorf("restart wrote to the store = %v (revision %d to %d), want %v", wrote, revBefore, revAfter, len(tt.remove) > 0)
			}
		})
	}
}
