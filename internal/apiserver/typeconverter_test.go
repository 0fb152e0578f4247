package apiserver

import (
	"sort"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/diff"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// writeSequence is what the API server does to one object: create, update, server-side
// apply (forced, then a conflicting unforced one) and a status update.
type writeSequence struct {
	create  runtime.Object
	update  func(runtime.Object)
	applied string
	// conflicting is applied, unforced, by a second manager after applied.
	conflicting string
	status      func(runtime.Object)
}

// writeResult is what a writeSequence produced with one type converter.
type writeResult struct {
	objects     []runtime.Object
	conflictErr string
}

func runWriteSequence(t *testing.T, tc managedfields.TypeConverter, scheme *runtime.Scheme, seq writeSequence) writeResult {
	t.Helper()
	gvk := seq.create.GetObjectKind().GroupVersionKind()
	spec, err := managedfields.NewDefaultFieldManager(tc, scheme, scheme, scheme, gvk, gvk.GroupVersion(), "", nil)
	if err != nil {
		t.Fatalf("spec field manager: %v", err)
	}
	status, err := managedfields.NewDefaultFieldManager(tc, scheme, scheme, scheme, gvk, gvk.GroupVersion(), "status", nil)
	if err != nil {
		t.Fatalf("status field manager: %v", err)
	}
	newEmpty := func() runtime.Object {
		obj, err := scheme.New(gvk)
		if err != nil {
			t.Fatalf("new %s: %v", gvk, err)
		}
		obj.GetObjectKind().SetGroupVersionKind(gvk)
		return obj
	}
	var res writeResult
	created := spec.UpdateNoErrors(newEmpty(), seq.create.DeepCopyObject(), "kubectl-create")
	res.objects = append(res.objects, created)

	updated := created.DeepCopyObject()
	seq.update(updated)
	updated = spec.UpdateNoErrors(created, updated, "kubectl-edit")
	res.objects = append(res.objects, updated)

	afterApply, err := spec.Apply(updated, unstructuredYAML(t, seq.applied), "kubectl", true)
	if err != nil {
		t.Fatalf("forced apply: %v", err)
	}
	res.objects = append(res.objects, afterApply)
	if _, err := spec.Apply(afterApply, unstructuredYAML(t, seq.conflicting), "other-applier", false); err != nil {
		res.conflictErr = err.Error()
	}

	withStatus := afterApply.DeepCopyObject()
	seq.status(withStatus)
	res.objects = append(res.objects, status.UpdateNoErrors(afterApply, withStatus, "kjet-controller"))

	// The managedFields entries carry the wall-clock time of each write, which also
	// orders them (by the second): drop it and order them by what is left.
	for _, obj := range res.objects {
		normalizeManagedFields(t, obj)
	}
	return res
}

// normalizeManagedFields drops the timestamps of obj's managedFields entries and
// orders the entries by what is left.
func normalizeManagedFields(t *testing.T, obj runtime.Object) {
	t.Helper()
	accessor, err := meta.Accessor(obj)
	if err != nil {
		t.Fatal(err)
	}
	entries := accessor.GetManagedFields()
	for i := range entries {
		entries[i].Time = nil
	}
	sort.Slice(entries, func(i, j int) bool {
		p, q := entries[i], entries[j]
		return string(p.Operation)+"/"+p.Manager+"/"+p.Subresource < string(q.Operation)+"/"+q.Manager+"/"+q.Subresource
	})
	accessor.SetManagedFields(entries)
}

func unstructuredYAML(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatalf("YAML %q: %v", doc, err)
	}
	return u
}

// TestTypeConverterMatchesClientGo checks that the converter built from typeschema's
// pre-parsed schema, which skips validating Go-typed objects, records exactly the
// managedFields that client-go's converter does.
func TestTypeConverterMatchesClientGo(t *testing.T) {
	c, err := newCodecs()
	if err != nil {
		t.Fatal(err)
	}
	scheme := c.scheme
	tests := []struct {
		name string
		seq  writeSequence
	}{
		{
			name: "Job",
			seq: writeSequence{
				create: &batchv1.Job{
					TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
					ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "default", Labels: map[string]string{"app": "pi"}},
					Spec: batchv1.JobSpec{
						Completions: ptr.To[int32](3),
						Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
							RestartPolicy: corev1.RestartPolicyNever,
							Containers: []corev1.Container{{Name: "pi", Image: "perl", Command: []string{"perl", "-e", "1"},
								Env: []corev1.EnvVar{{Name: "A", Value: "1"}}}},
						}},
					},
				},
				update: func(obj runtime.Object) {
					job := obj.(*batchv1.Job)
					job.Labels["tier"] = "batch"
					job.Spec.Parallelism = ptr.To[int32](2)
					job.Spec.Template.Spec.Containers[0].Env = append(job.Spec.Template.Spec.Containers[0].Env, corev1.EnvVar{Name: "B", Value: "2"})
				},
				applied: `
apiVersion: batch/v1
kind: Job
metadata:
  name: pi
  namespace: default
  annotations: {note: applied}
spec:
  parallelism: 3
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: pi
        image: perl:5
        ports: [{containerPort: 80, protocol: TCP}]
`,
				conflicting: `{apiVersion: batch/v1, kind: Job, metadata: {name: pi, namespace: default}, spec: {parallelism: 4}}`,
				status: func(obj runtime.Object) {
					job := obj.(*batchv1.Job)
					job.Status.Active = 2
					job.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobSuspended, Status: corev1.ConditionFalse}}
				},
			},
		},
		{
			name: "Pod",
			seq: writeSequence{
				create: &corev1.Pod{
					TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
					ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"},
					Spec: corev1.PodSpec{Containers: []corev1.Container{
						{Name: "a", Image: "busybox", Ports: []corev1.ContainerPort{{ContainerPort: 53, Protocol: corev1.ProtocolUDP}}},
					}},
				},
				update: func(obj runtime.Object) {
					pod := obj.(*corev1.Pod)
					pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: "b", Image: "busybox"})
					pod.Finalizers = []string{"kjet.dev/test"}
				},
				applied: `
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: default}
spec:
  containers:
  - name: a
    image: busybox:1
    ports: [{containerPort: 53, protocol: UDP}, {containerPort: 53, protocol: TCP}]
  tolerations: [{key: k, operator: Exists}]
`,
				conflicting: `
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: default}
spec:
  containers: [{name: a, image: busybox:2}]
`,
				status: func(obj runtime.Object) {
					pod := obj.(*corev1.Pod)
					pod.Status.Phase = corev1.PodRunning
					pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "a", Ready: true}}
				},
			},
		},
		{
			// Kubernetes accepts duplicate keys in some keyed lists (env, ports); the
			// field manager then tracks the whole list entry.
			name: "Pod with duplicate list keys",
			seq: writeSequence{
				create: &corev1.Pod{
					TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
					ObjectMeta: metav1.ObjectMeta{Name: "dup", Namespace: "default"},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a", Image: "busybox",
						Env: []corev1.EnvVar{{Name: "X", Value: "1"}, {Name: "X", Value: "2"}}}}},
				},
				update: func(obj runtime.Object) {
					c := &obj.(*corev1.Pod).Spec.Containers[0]
					c.Env = append(c.Env, corev1.EnvVar{Name: "X", Value: "3"}, corev1.EnvVar{Name: "Y", Value: "4"})
					c.Ports = []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}, {ContainerPort: 80, Protocol: corev1.ProtocolTCP}}
				},
				applied: `
apiVersion: v1
kind: Pod
metadata: {name: dup, namespace: default, labels: {a: b}}
spec:
  containers:
  - name: a
    image: busybox:1
`,
				conflicting: `{apiVersion: v1, kind: Pod, metadata: {name: dup, namespace: default}, spec: {containers: [{name: a, image: busybox:2}]}}`,
				status: func(obj runtime.Object) {
					obj.(*corev1.Pod).Status.Phase = corev1.PodSucceeded
				},
			},
		},
		{
			name: "Namespace",
			seq: writeSequence{
				create: &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: metav1.ObjectMeta{Name: "team"}},
				update: func(obj runtime.Object) {
					obj.(*corev1.Namespace).Labels = map[string]string{"team": "a"}
				},
				applied:     `{apiVersion: v1, kind: Namespace, metadata: {name: team, labels: {team: b}}}`,
				conflicting: `{apiVersion: v1, kind: Namespace, metadata: {name: team, labels: {team: c}}}`,
				status: func(obj runtime.Object) {
					obj.(*corev1.Namespace).Status.Phase = corev1.NamespaceTerminating
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := runWriteSequence(t, applyconfigurations.NewTypeConverter(scheme), scheme, tt.seq)
			got := runWriteSequence(t, newTypeConverter(scheme), scheme, tt.seq)
			if want.conflictErr == "" {
				t.Error("the unforced apply by a second manager did not conflict")
			}
			if got.conflictErr != want.conflictErr {
				t.Errorf("conflict error = %q, client-go's converter gives %q", got.conflictErr, want.conflictErr)
			}
			for i := range want.objects {
				if !apiequality.Semantic.DeepEqual(got.objects[i], want.objects[i]) {
					t.Errorf("write %d: object differs from client-go's converter's (-want +got):\n%s", i, diff.Diff(want.objects[i], got.objects[i]))
				}
			}
			last, _ := meta.Accessor(got.objects[len(got.objects)-1])
			if len(last.GetManagedFields()) < 3 {
				t.Errorf("managedFields after every write = %v, want entries of kubectl-edit, kubectl and kjet-controller", last.GetManagedFields())
			}
		})
	}
}
