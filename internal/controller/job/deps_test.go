package job

import (
	"go/build"
	"strings"
	"testing"
)

// TestImports keeps the controller a pure API client: it must reach the
// server only through client-go, never kjet's storage, registry or server.
func TestImports(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		for _, banned := range []string{"/internal/storage", "/internal/registry", "/internal/apiserver", "/internal/agent"} {
			if strings.HasPrefix(imp, "github.com/kjet-dev/kjet") && strings.Contains(imp, banned) {
				t.Errorf("imports %s", imp)
			}
		}
	}
}
