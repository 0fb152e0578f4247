package cli

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// manifest is one object read from the user's file, with where it came from.
type manifest struct {
	source string
	obj    *unstructured.Unstructured
}

// readManifests reads every object in path ("-" is stdin). YAML streams with several
// documents and JSON (including v1 List objects) are accepted; empty documents are skipped.
func readManifests(path string, stdin io.Reader) ([]manifest, error) {
	var r io.Reader
	source := path
	if path == "-" {
		r, source = stdin, "STDIN"
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("reading manifest: %w", err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(bufio.NewReader(r))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", source, err)
	}
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []manifest
	for {
		var raw map[string]interface{}
		if err := decoder.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("error parsing %s: %w", source, err)
		}
		if len(raw) == 0 {
			continue
		}
		obj := &unstructured.Unstructured{Object: raw}
		if obj.IsList() {
			err := obj.EachListItem(func(item runtime.Object) error {
				u, ok := item.(*unstructured.Unstructured)
				if !ok {
					return fmt.Errorf("unexpected list item %T", item)
				}
				out = append(out, manifest{source: source, obj: u})
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("error parsing %s: %w", source, err)
			}
			continue
		}
		if obj.GetAPIVersion() == "" || obj.GetKind() == "" {
			return nil, fmt.Errorf("error validating %q: apiVersion and kind must be set", source)
		}
		out = append(out, manifest{source: source, obj: obj})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no objects passed to run: %s holds no manifest", source)
	}
	return out, nil
}
