package printers

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSince(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		t    metav1.Time
		want string
	}{
		{"zero", metav1.Time{}, "<unknown>"},
		{"seconds", metav1.NewTime(now.Add(-5 * time.Second)), "5s"},
		{"minutes and seconds", metav1.NewTime(now.Add(-125 * time.Second)), "2m5s"},
		{"hours", metav1.NewTime(now.Add(-5 * time.Hour)), "5h"},
		{"future", metav1.NewTime(now.Add(10 * time.Second)), "<invalid>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Since(tt.t, now); got != tt.want {
				t.Errorf("Since = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHelpers(t *testing.T) {
	names, images := ContainersAndImages([]corev1.Container{{Name: "a", Image: "x"}, {Name: "b", Image: "y:1"}})
	if names != "a,b" || images != "x,y:1" {
		t.Errorf("ContainersAndImages = %q %q", names, images)
	}
	if got := Selector(nil); got != None {
		t.Errorf("Selector(nil) = %q", got)
	}
	if got := Selector(&metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}); got != "a=b" {
		t.Errorf("Selector = %q", got)
	}
	if got := SinceOrNone(nil, time.Now()); got != None {
		t.Errorf("SinceOrNone(nil) = %q", got)
	}
}
