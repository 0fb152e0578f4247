package apiserver

import (
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/diff"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/utils/ptr"
)

// TestUpdateManagedFieldsMatchesFieldManager checks that leaving unchanged parts out of
// the field manager's comparison records exactly the managedFields that comparing the
// whole objects does.
func TestUpdateManagedFieldsMatchesFieldManager(t *testing.T) {
	c, err := newCodecs()
	if err != nil {
		t.Fatal(err)
	}
	scheme := c.scheme
	tc := newTypeConverter(scheme)
	pod := func() *corev1.Pod {
		return &corev1.Pod{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
			ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", Labels: map[string]string{"a": "1"}, Finalizers: []string{"batch.kubernetes.io/job-tracking"}},
			Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{
				{Name: "c", Image: "busybox", Command: []string{"true"}, Env: []corev1.EnvVar{{Name: "X", Value: "1"}}},
			}},
			Status: corev1.PodStatus{Phase: corev1.PodPending},
		}
	}
	job := func() *batchv1.Job {
		return &batchv1.Job{
			TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
			ObjectMeta: metav1.ObjectMeta{Name: "j", Namespace: "default"},
			Spec: batchv1.JobSpec{Parallelism: ptr.To[int32](2), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
			}}},
		}
	}
	tests := []struct {
		name        string
		subresource string
		create      runtime.Object
		change      func(runtime.Object)
	}{
		{name: "finalizer removed (metadata only)", create: pod(), change: func(o runtime.Object) {
			o.(*corev1.Pod).Finalizers = nil
		}},
		{name: "status only", subresource: "status", create: pod(), change: func(o runtime.Object) {
			p := o.(*corev1.Pod)
			p.Status.Phase = corev1.PodSucceeded
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}}}}
		}},
		{name: "spec and labels", create: pod(), change: func(o runtime.Object) {
			p := o.(*corev1.Pod)
			p.Spec.NodeName = "n1"
			p.Labels["b"] = "2"
		}},
		{name: "nil against empty is a change", create: pod(), change: func(o runtime.Object) {
			p := o.(*corev1.Pod)
			p.Spec.Containers[0].Command = []string{}
			p.Status.Conditions = []corev1.PodCondition{}
		}},
		{name: "nothing changed", create: pod(), change: func(runtime.Object) {}},
		{name: "job status", subresource: "status", create: job(), change: func(o runtime.Object) {
			j := o.(*batchv1.Job)
			j.Status.Active = 2
			j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobSuspended, Status: corev1.ConditionFalse}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gvk := tt.create.GetObjectKind().GroupVersionKind()
			fm, err := managedfields.NewDefaultFieldManager(tc, scheme, scheme, scheme, gvk, gvk.GroupVersion(), tt.subresource, nil)
			if err != nil {
				t.Fatal(err)
			}
			empty, _ := scheme.New(gvk)
			empty.GetObjectKind().SetGroupVersionKind(gvk)
			live := fm.UpdateNoErrors(empty, tt.create.DeepCopyObject(), "creator")
			changed := live.DeepCopyObject()
			tt.change(changed)

			want := fm.UpdateNoErrors(live.DeepCopyObject(), changed.DeepCopyObject(), "writer")
			got := updateManagedFields(fm, live.DeepCopyObject(), changed.DeepCopyObject(), "writer")
			w, g := withoutTimes(t, want), withoutTimes(t, got)
			if !apiequality.Semantic.DeepEqual(w, g) {
				t.Errorf("object differs from the field manager's on whole objects (-want +got):\n%s", diff.Diff(w, g))
			}
		})
	}
}

// withoutTimes is a copy of obj whose managedFields entries carry no timestamps.
func withoutTimes(t *testing.T, obj runtime.Object) runtime.Object {
	t.Helper()
	obj = obj.DeepCopyObject()
	normalizeManagedFields(t, obj)
	return obj
}

// BenchmarkUpdateManagedFields measures the managedFields bookkeeping of the Job
// controller's removal of its finalizer from a finished pod (which carries the field
// sets of its three writers): on the whole objects (the field manager alone) and
// without the unchanged spec and status.
func BenchmarkUpdateManagedFields(b *testing.B) {
	fm, live := finishedJobPod(b)
	changed := live.DeepCopyObject().(*corev1.Pod)
	changed.Finalizers = nil
	for _, bc := range []struct {
		name   string
		update func(live, obj runtime.Object) runtime.Object
	}{
		{"whole-objects", func(live, obj runtime.Object) runtime.Object { return fm.UpdateNoErrors(live, obj, "job-controller") }},
		{"changed-parts", func(live, obj runtime.Object) runtime.Object {
			return updateManagedFields(fm, live, obj, "job-controller")
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bc.update(live, changed.DeepCopyObject())
			}
		})
	}
}

// finishedJobPod is a pod field manager and a finished Job pod as the API server holds
// it: created by the Job controller (with its tracking finalizer), bound by the
// scheduler and reported Succeeded by the node agent, each write recorded in its
// managedFields.
func finishedJobPod(b *testing.B) (*managedfields.FieldManager, *corev1.Pod) {
	b.Helper()
	c, err := newCodecs()
	if err != nil {
		b.Fatal(err)
	}
	gvk := corev1.SchemeGroupVersion.WithKind("Pod")
	fm, err := managedfields.NewDefaultFieldManager(newTypeConverter(c.scheme), c.scheme, c.scheme, c.scheme, gvk, gvk.GroupVersion(), "", nil)
	if err != nil {
		b.Fatal(err)
	}
	pod := benchPod("x")
	pod.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}
	pod.Finalizers = []string{"batch.kubernetes.io/job-tracking"}
	live := fm.UpdateNoErrors(&corev1.Pod{TypeMeta: pod.TypeMeta}, pod, "kube-controller-manager")
	bound := live.DeepCopyObject().(*corev1.Pod)
	bound.Spec.NodeName = "node-1"
	live = fm.UpdateNoErrors(live, bound, "kube-scheduler")
	done := live.DeepCopyObject().(*corev1.Pod)
	done.Status.Phase = corev1.PodSucceeded
	done.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}}}}
	return fm, fm.UpdateNoErrors(live, done, "kubelet").(*corev1.Pod)
}
