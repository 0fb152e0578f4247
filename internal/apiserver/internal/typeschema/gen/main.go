// Command gen writes typeschema's schema.bin: client-go's server-side apply schema
// (schemaYAML in k8s.io/client-go/applyconfigurations/internal, read from the module
// cache for the client-go version in go.mod), parsed and validated like client-go does,
// then encoded with typeschema.Encode. Run it through `go generate` in typeschema.
package main

import (
	"flag"
	"fmt"
	"os"

	"sigs.k8s.io/structured-merge-diff/v6/typed"

	"github.com/kjet-dev/kjet/internal/apiserver/internal/typeschema"
	"github.com/kjet-dev/kjet/internal/apiserver/internal/typeschema/internal/source"
)

func main() {
	out := flag.String("o", "schema.bin", "file to write")
	flag.Parse()
	if err := generate(*out); err != nil {
		fmt.Fprintln(os.Stderr, "typeschema gen:", err)
		os.Exit(1)
	}
}

func generate(out string) error {
	dir, err := source.ClientGoDir(".")
	if err != nil {
		return err
	}
	yaml, err := source.SchemaYAML(dir)
	if err != nil {
		return err
	}
	parser, err := typed.NewParser(typed.YAMLObject(yaml))
	if err != nil {
		return fmt.Errorf("parsing client-go's schema: %w", err)
	}
	data, err := typeschema.Encode(parser.Schema.Types)
	if err != nil {
		return fmt.Errorf("encoding: %w", err)
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	return nil
}
