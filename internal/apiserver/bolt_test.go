package apiserver

import (
	"path/filepath"
	"testing"

	"github.com/kjet-dev/kjet/internal/storage/bolt"
)

// TestBoltBackend runs the client-go scenario and an informer over the embedded
// (bolt) store, the default backend of kjet server.
func TestBoltBackend(t *testing.T) {
	store, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEnv(t, func(o *Options) {
		_ = o.Storage.Close()
		o.Storage = store
	})
	e.mustDo(201, "POST", jobPath, "application/json", jobBody)
	e.mustDo(200, "PATCH", jobPath+"/pi", "application/strategic-merge-patch+json", `{"metadata":{"labels":{"a":"b"}}}`)
	w := e.watch(jobPath + "?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true")
	w.expect("ADDED", "pi")
	w.expect("BOOKMARK", "")
	e.mustDo(200, "DELETE", jobPath+"/pi", "application/json", `{"propagationPolicy":"Background"}`)
	w.expect("DELETED", "pi")
}
