package cachetrim

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

func TestStripManagedFields(t *testing.T) {
	entry := metav1.ManagedFieldsEntry{Manager: "kubelet", Operation: metav1.ManagedFieldsOperationUpdate}
	tests := []struct {
		name string
		obj  any
	}{
		{"typed object", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", ManagedFields: []metav1.ManagedFieldsEntry{entry}}}},
		{"metadata only", &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "p", ManagedFields: []metav1.ManagedFieldsEntry{entry}}}},
		{"no managed fields", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}},
		{"tombstone", cache.DeletedFinalStateUnknown{Key: "default/p"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := StripManagedFields(tt.obj)
			if err != nil {
				t.Fatal(err)
			}
			if m, ok := got.(metav1.Object); ok {
				if m.GetManagedFields() != nil {
					t.Errorf("managedFields kept: %v", m.GetManagedFields())
				}
				if m.GetName() != "p" {
					t.Errorf("name = %q, want p", m.GetName())
				}
			} else if _, ok := got.(cache.DeletedFinalStateUnknown); !ok {
				t.Errorf("got %T, want the tombstone back", got)
			}
		})
	}
}
