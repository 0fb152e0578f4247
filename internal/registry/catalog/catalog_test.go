package catalog

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"

	"github.com/kjet-dev/kjet/internal/registry/job"
)

func TestResources(t *testing.T) {
	resources := Resources()
	seen := map[string]bool{}
	for _, r := range resources {
		r := r
		gvr := r.GroupVersionResource.String()
		t.Run(gvr, func(t *testing.T) {
			if seen[gvr] {
				t.Fatalf("duplicate resource %s", gvr)
			}
			seen[gvr] = true
			obj, list := r.New(), r.NewList()
			kinds, _, err := scheme.Scheme.ObjectKinds(obj)
			if err != nil || kinds[0].Kind != r.Kind || kinds[0].GroupVersion() != r.GroupVersionResource.GroupVersion() {
				t.Fatalf("New() is %v (%v), want %s in %s", kinds, err, r.Kind, r.GroupVersionResource.GroupVersion())
			}
			listKinds, _, err := scheme.Scheme.ObjectKinds(list)
			if err != nil || listKinds[0].Kind != r.Kind+"List" {
				t.Fatalf("NewList() is %v (%v)", listKinds, err)
			}
			if r.SingularName != strings.ToLower(r.Kind) || !strings.HasPrefix(r.GroupVersionResource.Resource, r.SingularName) {
				t.Errorf("names %q/%q do not fit kind %s", r.SingularName, r.GroupVersionResource.Resource, r.Kind)
			}
			if r.Strategy == nil || r.Table == nil || r.DefaultPropagation == "" {
				t.Fatal("strategy, table or default propagation missing")
			}
			// An empty named object goes through the rules without panicking.
			accessor, err := meta.Accessor(obj)
			if err != nil {
				t.Fatal(err)
			}
			accessor.SetName("x")
			accessor.SetUID("6c1a4a6e-2c1e-4a7a-9f0a-0b1c2d3e4f50")
			if r.Namespaced {
				accessor.SetNamespace("default")
			}
			ctx := context.Background()
			r.Strategy.PrepareForCreate(ctx, obj)
			_ = r.Strategy.Validate(ctx, obj)
			_, fields, err := r.Strategy.AttrsFunc(obj)
			if err != nil || fields["metadata.name"] != "x" {
				t.Errorf("AttrsFunc: %v %v", fields, err)
			}
			if _, ok := fields["metadata.namespace"]; ok != r.Namespaced {
				t.Errorf("metadata.namespace present = %v, namespaced = %v", ok, r.Namespaced)
			}
			cells, err := r.Table.Cells(obj, time.Now())
			if err != nil || len(cells) != len(r.Table.Columns()) {
				t.Errorf("%d cells for %d columns (%v)", len(cells), len(r.Table.Columns()), err)
			}
			if r.Scale != nil {
				if got := r.Scale.Replicas(obj); got != 1 {
					t.Errorf("scale replicas of a defaulted object = %d, want 1", got)
				}
				r.Scale.SetReplicas(obj, 3)
				if got := r.Scale.Replicas(obj); got != 3 || r.Scale.StatusReplicas(obj) != 0 {
					t.Errorf("after SetReplicas(3): replicas %d, status replicas %d", got, r.Scale.StatusReplicas(obj))
				}
				_ = r.Scale.Selector(obj)
			}
			old := obj.DeepCopyObject()
			accessor.SetResourceVersion("1")
			r.Strategy.PrepareForUpdate(ctx, obj, old)
			if r.Status != nil {
				r.Status.PrepareForUpdate(ctx, obj, old)
				if errs := r.Status.ValidateUpdate(ctx, obj, old); len(errs) != 0 {
					t.Errorf("status update of unchanged object: %v", errs)
				}
			}
		})
	}
}

func TestCatalogSettings(t *testing.T) {
	byResource := map[string]int{}
	resources := Resources()
	for i, r := range resources {
		byResource[r.GroupVersionResource.GroupResource().String()] = i
	}
	tests := []struct {
		resource    string
		shortNames  []string
		all         bool
		namespaced  bool
		status      bool
		propagation metav1.DeletionPropagation
		scale       bool
	}{
		{"pods", []string{"po"}, true, true, true, metav1.DeletePropagationBackground, false},
		{"jobs.batch", nil, true, true, true, metav1.DeletePropagationOrphan, false},
		{"cronjobs.batch", []string{"cj"}, true, true, true, metav1.DeletePropagationBackground, false},
		{"namespaces", []string{"ns"}, false, false, true, metav1.DeletePropagationBackground, false},
		{"nodes", []string{"no"}, false, false, true, metav1.DeletePropagationBackground, false},
		{"configmaps", []string{"cm"}, false, true, false, metav1.DeletePropagationBackground, false},
		{"events", []string{"ev"}, false, true, false, metav1.DeletePropagationBackground, false},
		{"events.events.k8s.io", []string{"ev"}, false, true, false, metav1.DeletePropagationBackground, false},
		{"serviceaccounts", []string{"sa"}, false, true, false, metav1.DeletePropagationBackground, false},
		{"services", []string{"svc"}, true, true, false, metav1.DeletePropagationBackground, false},
		{"replicasets.apps", []string{"rs"}, true, true, true, metav1.DeletePropagationBackground, true},
		{"replicationcontrollers", []string{"rc"}, true, true, true, metav1.DeletePropagationBackground, true},
		{"deployments.apps", []string{"deploy"}, true, true, true, metav1.DeletePropagationBackground, true},
		{"daemonsets.apps", []string{"ds"}, true, true, true, metav1.DeletePropagationBackground, false},
		{"secrets", nil, false, true, false, metav1.DeletePropagationBackground, false},
		{"leases.coordination.k8s.io", nil, false, true, false, metav1.DeletePropagationBackground, false},
	}
	for _, tt := range tests {
		t.Run(tt.resource, func(t *testing.T) {
			i, ok := byResource[tt.resource]
			if !ok {
				t.Fatalf("%s missing", tt.resource)
			}
			r := resources[i]
			if strings.Join(r.ShortNames, ",") != strings.Join(tt.shortNames, ",") {
				t.Errorf("short names %v, want %v", r.ShortNames, tt.shortNames)
			}
			if (len(r.Categories) == 1 && r.Categories[0] == "all") != tt.all {
				t.Errorf("categories %v", r.Categories)
			}
			if r.Namespaced != tt.namespaced || (r.Status != nil) != tt.status || r.DefaultPropagation != tt.propagation {
				t.Errorf("namespaced %v status %v propagation %s", r.Namespaced, r.Status != nil, r.DefaultPropagation)
			}
			if (r.Scale != nil) != tt.scale {
				t.Errorf("scale %v, want %v", r.Scale != nil, tt.scale)
			}
		})
	}
	jobs := resources[byResource["jobs.batch"]]
	if jobs.DeleteWarning != job.DeleteWarning || !strings.HasPrefix(jobs.DeleteWarning, "child pods are preserved by default when jobs are deleted;") {
		t.Errorf("job delete warning %q", jobs.DeleteWarning)
	}
	pods := resources[byResource["pods"]]
	if pods.GracefulDelete == nil {
		t.Fatal("pods have no graceful delete")
	}
	if got := pods.GracefulDelete(pods.New(), ptr.To[int64](3)); got != 0 {
		t.Errorf("unscheduled pod grace = %d, want 0", got)
	}
}
