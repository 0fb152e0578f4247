// Package source reads the server-side apply schema that client-go ships (the
// schemaYAML string of k8s.io/client-go/applyconfigurations/internal) from client-go's
// source in the module cache, for typeschema's generator and its staleness test.
package source

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// File is client-go's generated file holding schemaYAML, relative to its module root.
const File = "applyconfigurations/internal/internal.go"

// ClientGoDir is the directory of the k8s.io/client-go module that the module in dir
// (any directory inside it) requires, as `go list -m` reports it.
func ClientGoDir(dir string) (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "k8s.io/client-go")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("locating k8s.io/client-go: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	d := strings.TrimSpace(string(out))
	if d == "" {
		return "", fmt.Errorf("locating k8s.io/client-go: module not downloaded (run go mod download)")
	}
	return d, nil
}

// SchemaYAML returns the value of the schemaYAML variable in client-go's File under
// clientGoDir.
func SchemaYAML(clientGoDir string) (string, error) {
	path := filepath.Join(clientGoDir, File)
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return "", fmt.Errorf("parsing %s: %w", path, err)
	}
	for _, decl := range f.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.VAR {
			continue
		}
		for _, spec := range gen.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if name.Name != "schemaYAML" || i >= len(vs.Values) {
					continue
				}
				return stringArgument(vs.Values[i])
			}
		}
	}
	return "", fmt.Errorf("%s: no schemaYAML variable", path)
}

// stringArgument unwraps typed.YAMLObject("...") (or a bare literal) to its string.
func stringArgument(e ast.Expr) (string, error) {
	if call, ok := e.(*ast.CallExpr); ok && len(call.Args) == 1 {
		e = call.Args[0]
	}
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", fmt.Errorf("schemaYAML is not a string literal conversion")
	}
	s, err := strconv.Unquote(lit.Value)
	if err != nil {
		return "", fmt.Errorf("unquoting schemaYAML: %w", err)
	}
	return s, nil
}
