// Package typeschema holds the server-side apply schema of the built-in Kubernetes
// types (the one client-go ships as YAML in k8s.io/client-go/applyconfigurations/
// internal) pre-parsed into a compact binary form, so that the API server's type
// converter costs a few milliseconds to build instead of the ~120 ms of CPU that
// parsing and validating the 430 KB of YAML takes.
//
// schema.bin is generated from the client-go version in go.mod by `go generate` (see
// gen/); a test fails when it is stale.
package typeschema

import (
	_ "embed" // schema.bin
	"fmt"

	"sigs.k8s.io/structured-merge-diff/v6/schema"
	"sigs.k8s.io/structured-merge-diff/v6/typed"
)

//go:generate go run ./gen -o schema.bin

// encoded is Encode's form of client-go's schema.
//
//go:embed schema.bin
var encoded string

// Parser returns a new parser over the built-in types' schema: the same schema that
// client-go's applyconfigurations.NewTypeConverter uses, for
// managedfields.NewSchemeTypeConverter. Each call decodes a new one (~2 ms).
func Parser() (*typed.Parser, error) {
	types, err := Decode(encoded)
	if err != nil {
		return nil, fmt.Errorf("decoding the embedded type schema: %w", err)
	}
	return &typed.Parser{Schema: schema.Schema{Types: types}}, nil
}
