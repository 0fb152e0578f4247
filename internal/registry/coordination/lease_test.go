package coordination

import (
	"context"
	"reflect"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestLease(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		spec coordinationv1.LeaseSpec
		errs []string
		row  []interface{}
	}{
		{"held", coordinationv1.LeaseSpec{HolderIdentity: ptr.To("kjet"), LeaseDurationSeconds: ptr.To[int32](40)}, nil,
			[]interface{}{"kjet", "kjet", "5s"}},
		{"free", coordinationv1.LeaseSpec{}, nil, []interface{}{"kjet", "", "5s"}},
		{"zero duration", coordinationv1.LeaseSpec{LeaseDurationSeconds: ptr.To[int32](0)},
			[]string{"spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"}, []interface{}{"kjet", "", "5s"}},
		{"negative transitions", coordinationv1.LeaseSpec{LeaseTransitions: ptr.To[int32](-1)},
			[]string{"spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0"}, []interface{}{"kjet", "", "5s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &coordinationv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Name: "kjet", Namespace: "kube-node-lease", CreationTimestamp: metav1.NewTime(now.Add(-5 * time.Second))},
				Spec:       tt.spec,
			}
			s := LeaseStrategy()
			s.PrepareForCreate(context.Background(), l)
			var got []string
			for _, e := range s.Validate(context.Background(), l) {
				got = append(got, e.Error())
			}
			if !reflect.DeepEqual(got, tt.errs) {
				t.Errorf("errors %q, want %q", got, tt.errs)
			}
			row, err := LeaseTable{}.Cells(l, now)
			if err != nil || !reflect.DeepEqual(row, tt.row) {
				t.Errorf("row %v (%v), want %v", row, err, tt.row)
			}
		})
	}
}
