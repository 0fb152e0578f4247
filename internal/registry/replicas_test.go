package registry

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestReplicaCountsWithin(t *testing.T) {
	p := field.NewPath("status")
	cases := []struct {
		name                       string
		replicas, ready, available int32
		counts                     []Count
		want                       []string
	}{
		{name: "consistent", replicas: 3, ready: 2, available: 1, counts: []Count{{"fullyLabeledReplicas", 3}}},
		{name: "beyond replicas, in order", replicas: 1, ready: 2, available: 2, counts: []Count{{"updatedReplicas", 2}},
			want: []string{"status.updatedReplicas", "status.readyReplicas", "status.availableReplicas"}},
		{name: "more available than ready", replicas: 3, ready: 1, available: 2,
			want: []string{"status.availableReplicas"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, e := range ReplicaCountsWithin(p, tc.replicas, tc.ready, tc.available, tc.counts...) {
				got = append(got, e.Field)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("fields %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNonnegativeCounts(t *testing.T) {
	errs := NonnegativeCounts(field.NewPath("status"), Count{"replicas", 1}, Count{"numberReady", -1}, Count{"numberAvailable", -2})
	var got []string
	for _, e := range errs {
		got = append(got, e.Field)
	}
	if want := []string{"status.numberReady", "status.numberAvailable"}; !reflect.DeepEqual(got, want) {
		t.Errorf("fields %v, want %v", got, want)
	}
}
