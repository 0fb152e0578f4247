package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// TestRunFailsCleanlyWhenBackendFails: the backend opens alongside the credentials, so
// its failure must still end the start (listener released, nothing left open), and a
// failure of both reports both.
func TestRunFailsCleanlyWhenBackendFails(t *testing.T) {
	errStore := errors.New("store is locked")
	tests := []struct {
		name string
		// breakPKI makes the credentials fail too (the pki path is a file).
		breakPKI bool
	}{
		{name: "backend fails"},
		{name: "backend and credentials fail", breakPKI: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.breakPKI {
				if err := os.WriteFile(filepath.Join(dir, PKIDir), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			// Reserve a free port, then let run listen on it.
			probe, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := probe.Addr().String()
			probe.Close()
			err = run(context.Background(), Options{
				DataDir:  dir,
				Listen:   addr,
				NodeName: "n1",
				Stderr:   io.Discard,
				Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
			}, func(context.Context, Options) (*backend, error) { return nil, errStore })
			if !errors.Is(err, errStore) {
				t.Fatalf("run error = %v, want the backend's", err)
			}
			if gotPKIErr := err.Error() != errStore.Error(); gotPKIErr != tt.breakPKI {
				t.Errorf("run error = %q; credentials error reported = %v, want %v", err, gotPKIErr, tt.breakPKI)
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				t.Fatalf("the listener was not released: %v", err)
			}
			ln.Close()
		})
	}
}
