package apiserver

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/diff"
)

// TestMetadataPatchMatchesWholeObject checks that metadata-only patches applied to the
// metadata alone give what applying them to the whole object gives, and that every
// other patch, or an unusual one, is left to the whole-object path.
func TestMetadataPatchMatchesWholeObject(t *testing.T) {
	e := newTestEnv(t)
	res := e.server.byGroupVersion["v1"]["pods"]
	current := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name: "p", Namespace: "default", UID: "u1", ResourceVersion: "7", Generation: 1,
			CreationTimestamp: metav1.NewTime(testNow),
			Labels:            map[string]string{"app": "a", "tier": "web"},
			Annotations:       map[string]string{"note": "x"},
			Finalizers:        []string{"batch.kubernetes.io/job-tracking", "example.com/b"},
			OwnerReferences:   []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: "j", UID: "ju"}},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "m", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1",
				FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(`{"f:metadata":{"f:labels":{"f:app":{}}}}`)}},
		},
		Spec:   corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "i", Command: []string{"true"}}}},
		Status: corev1.PodStatus{Phase: corev1.PodSucceeded},
	}
	tests := []struct {
		name      string
		patchType types.PatchType
		patch     string
		wantFast  bool
	}{
		{"strategic: job controller's finalizer removal", types.StrategicMergePatchType, `{"metadata":{"$deleteFromPrimitiveList/finalizers":["batch.kubernetes.io/job-tracking"]}}`, true},
		{"strategic: labels and annotations", types.StrategicMergePatchType, `{"metadata":{"labels":{"b":"2","tier":null},"annotations":{"n":"y"}}}`, true},
		{"strategic: owner references by uid", types.StrategicMergePatchType, `{"metadata":{"ownerReferences":[{"$patch":"delete","uid":"ju"}]}}`, true},
		{"strategic: finalizer order", types.StrategicMergePatchType, `{"metadata":{"$setElementOrder/finalizers":["example.com/b","batch.kubernetes.io/job-tracking"]}}`, true},
		{"merge: labels", types.MergePatchType, `{"metadata":{"labels":{"app":null,"c":"3"}}}`, true},
		{"merge: finalizers replaced", types.MergePatchType, `{"metadata":{"finalizers":["x/y"]}}`, true},
		{"merge: same resourceVersion", types.MergePatchType, `{"metadata":{"resourceVersion":"7","labels":{"d":"4"}}}`, true},
		{"merge: other resourceVersion", types.MergePatchType, `{"metadata":{"resourceVersion":"6"}}`, true},
		{"merge: managed fields reset", types.MergePatchType, `{"metadata":{"managedFields":[{}],"labels":{"g":"7"}}}`, true},
		{"merge: managed fields dropped", types.MergePatchType, `{"metadata":{"managedFields":null}}`, true},
		{"strategic: managed fields replaced", types.StrategicMergePatchType, `{"metadata":{"managedFields":[{"manager":"x","operation":"Update","apiVersion":"v1"}]}}`, true},
		{"strategic: retain keys", types.StrategicMergePatchType, `{"metadata":{"$retainKeys":["name","namespace","uid","labels"],"labels":{"h":"8"}}}`, true},
		{"spec too", types.MergePatchType, `{"metadata":{"labels":{"e":"5"}},"spec":{"activeDeadlineSeconds":5}}`, false},
		{"unknown metadata field", types.MergePatchType, `{"metadata":{"labelz":{"e":"5"}}}`, false},
		{"wrong case", types.MergePatchType, `{"metadata":{"Labels":{"e":"5"}}}`, false},
		{"wrong type", types.MergePatchType, `{"metadata":{"labels":["e"]}}`, false},
		{"metadata null", types.MergePatchType, `{"metadata":null}`, false},
		{"json patch", types.JSONPatchType, `[{"op":"add","path":"/metadata/labels/f","value":"6"}]`, false},
		{"not json", types.StrategicMergePatchType, `{"metadata":`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fast, ok := applyMetadataPatch(res, current.DeepCopy(), tt.patchType, []byte(tt.patch))
			if ok != tt.wantFast {
				t.Fatalf("applied to the metadata alone: %v, want %v", ok, tt.wantFast)
			}
			if !ok {
				return
			}
			whole, warnings, err := e.server.applyPatchToObject(res, current.DeepCopy(), tt.patchType, []byte(tt.patch), validationStrict)
			if err != nil || len(warnings) > 0 {
				t.Fatalf("whole-object patch: %v, warnings %v", err, warnings)
			}
			if !apiequality.Semantic.DeepEqual(fast, whole) {
				t.Errorf("metadata patch differs from the whole-object patch (-whole +fast):\n%s", diff.Diff(whole, fast))
			}
		})
	}
}

// BenchmarkFinalizerRemovalPatch measures applying the Job controller's removal of its
// finalizer from a finished pod (a strategic merge patch of the metadata) to a pod
// that carries the managed fields of its three writers: through the whole object (the
// baseline), and to the metadata alone.
func BenchmarkFinalizerRemovalPatch(b *testing.B) {
	e := newTestEnv(b)
	res := e.server.byGroupVersion["v1"]["pods"]
	_, live := finishedJobPod(b)
	patch := []byte(`{"metadata":{"$deleteFromPrimitiveList/finalizers":["batch.kubernetes.io/job-tracking"]}}`)
	b.Run("whole-object", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := e.server.applyPatchToObject(res, live.DeepCopyObject(), types.StrategicMergePatchType, patch, validationStrict); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("metadata", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := applyMetadataPatch(res, live.DeepCopyObject(), types.StrategicMergePatchType, patch); !ok {
				b.Fatal("not applied to the metadata")
			}
		}
	})
}
