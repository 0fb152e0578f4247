package catalog

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"reflect"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
)

// TestSeedWorkloads creates the workload manifests of the seed documents the way the API
// server does (defaults, then validation) and renders their kubectl get rows.
func TestSeedWorkloads(t *testing.T) {
	data, err := os.ReadFile("testdata/seed-workloads.yaml")
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string]int{}
	resources := Resources()
	for i, r := range resources {
		byKind[r.GroupVersionResource.GroupVersion().WithKind(r.Kind).String()] = i
	}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	// The columns kubectl get shows (priority 0) for each object, as on Kubernetes.
	want := map[string][]interface{}{
		"Pod/kubia-liveness":           {"kubia-liveness", "0/1", "Pending", "0", "30s"},
		"ReplicationController/kubia":  {"kubia", int64(3), int64(0), int64(0), "30s"},
		"ReplicaSet/kubia":             {"kubia", int64(3), int64(0), int64(0), "30s"},
		"ReplicaSet/kubia-expressions": {"kubia-expressions", int64(3), int64(0), int64(0), "30s"},
		"DaemonSet/ssd-monitor":        {"ssd-monitor", int64(0), int64(0), int64(0), int64(0), int64(0), "disk=ssd", "30s"},
		"Job/batch-job":                {"batch-job", "Running", "0/1", "", "30s"},
		"Deployment/kubia":             {"kubia", "0/1", int64(0), int64(0), "30s"},
	}
	documents := yaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	seen := 0
	for {
		doc, err := documents.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		obj, gvk, err := scheme.Codecs.UniversalDeserializer().Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("decoding document %d: %v", seen, err)
		}
		seen++
		i, ok := byKind[gvk.String()]
		if !ok {
			t.Errorf("%s is not served", gvk)
			continue
		}
		r := resources[i]
		accessor, err := meta.Accessor(obj)
		if err != nil {
			t.Fatal(err)
		}
		name := r.Kind + "/" + accessor.GetName()
		t.Run(name, func(t *testing.T) {
			accessor.SetNamespace("default")
			accessor.SetUID("6c1a4a6e-2c1e-4a7a-9f0a-0b1c2d3e4f50")
			accessor.SetCreationTimestamp(metav1.NewTime(now.Add(-30 * time.Second)))
			ctx := context.Background()
			r.Strategy.PrepareForCreate(ctx, obj)
			if errs := r.Strategy.Validate(ctx, obj); len(errs) != 0 {
				t.Fatalf("create rejected: %v", errs)
			}
			cells, err := r.Table.Cells(obj, now)
			if err != nil {
				t.Fatal(err)
			}
			var shown []interface{}
			for j, c := range r.Table.Columns() {
				if c.Priority == 0 {
					shown = append(shown, cells[j])
				}
			}
			if !reflect.DeepEqual(shown, want[name]) {
				t.Errorf("row %#v, want %#v", shown, want[name])
			}
		})
	}
	if seen != len(want) {
		t.Errorf("decoded %d documents, want %d", seen, len(want))
	}
}
