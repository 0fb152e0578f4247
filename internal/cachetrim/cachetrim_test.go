package cachetrim

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
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

// TestNewInformerFactory: its informers keep objects without managedFields, and the
// options given still apply.
func TestNewInformerFactory(t *testing.T) {
	entry := metav1.ManagedFieldsEntry{Manager: "kubelet", Operation: metav1.ManagedFieldsOperationUpdate}
	client := fake.NewClientset(
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "one", ManagedFields: []metav1.ManagedFieldsEntry{entry}}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "two", ManagedFields: []metav1.ManagedFieldsEntry{entry}}},
	)
	factory := NewInformerFactory(client, informers.WithNamespace("one"))
	pods := factory.Core().V1().Pods()
	inf := pods.Informer()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); factory.Shutdown() })
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("the cache did not sync")
	}
	list, err := pods.Lister().List(labels.Everything())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Name != "a" {
		t.Fatalf("cached pods %v, want only one/a (the namespace option)", list)
	}
	if list[0].ManagedFields != nil {
		t.Errorf("managedFields kept in the cache: %v", list[0].ManagedFields)
	}
}
