package core

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestResourceQuotaAndLimitRange(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name    string
		errs    int
		check   func() int
		wantRow []interface{}
	}{
		{name: "quota with a negative hard limit", errs: 1, check: func() int {
			q := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "q", Namespace: "default"},
				Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("-1")}}}
			return len(ResourceQuotaStrategy().Validate(ctx, q))
		}},
		{name: "valid quota", errs: 0, check: func() int {
			q := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "q", Namespace: "default"},
				Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("10")}}}
			return len(ResourceQuotaStrategy().Validate(ctx, q))
		}},
		{name: "limit range item without type", errs: 1, check: func() int {
			l := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "l", Namespace: "default"},
				Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{}}}}
			return len(LimitRangeStrategy().Validate(ctx, l))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.check(); got != tc.errs {
				t.Fatalf("%d errors, want %d", got, tc.errs)
			}
		})
	}
}

func TestResourceQuotaTable(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 10, 0, 0, time.UTC)
	q := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "q", CreationTimestamp: metav1.NewTime(now.Add(-5 * time.Minute))},
		Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"pods": resource.MustParse("10"), "limits.cpu": resource.MustParse("2")}},
		Status:     corev1.ResourceQuotaStatus{Used: corev1.ResourceList{"pods": resource.MustParse("3")}},
	}
	cells, err := ResourceQuotaTable{}.Cells(q, now)
	if err != nil {
		t.Fatal(err)
	}
	want := []interface{}{"q", "5m", "pods: 3/10", "limits.cpu: 0/2"}
	for i := range want {
		if cells[i] != want[i] {
			t.Fatalf("cells = %v, want %v", cells, want)
		}
	}
}
