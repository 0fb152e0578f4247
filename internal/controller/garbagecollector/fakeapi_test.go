package garbagecollector

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	metadatafake "k8s.io/client-go/metadata/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
)

var (
	podsGVR     = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	jobsGVR     = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}
	cronJobsGVR = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "cronjobs"}
	nodesGVR    = schema.GroupVersionResource{Version: "v1", Resource: "nodes"}
	eventsGVR   = schema.GroupVersionResource{Version: "v1", Resource: "events"}

	testKinds = map[schema.GroupVersionKind]schema.GroupVersionResource{
		{Version: "v1", Kind: "Pod"}:                     podsGVR,
		{Group: "batch", Version: "v1", Kind: "Job"}:     jobsGVR,
		{Group: "batch", Version: "v1", Kind: "CronJob"}: cronJobsGVR,
		{Version: "v1", Kind: "Node"}:                    nodesGVR,
		{Version: "v1", Kind: "Event"}:                   eventsGVR,
	}
)

// fakeAPI is the metadata fake with the deletion semantics of a real API server:
// Foreground and Orphan deletes add their finalizer and set deletionTimestamp, an
// object with finalizers is only marked deleted, and removing the last finalizer of
// a deleted object removes it.
type fakeAPI struct {
	t       *testing.T
	ctx     context.Context
	client  *metadatafake.FakeMetadataClient
	tracker clienttesting.ObjectTracker
	uids    atomic.Int64

	mu sync.Mutex // guards deletes
	// deletes records the DELETE requests: "resource/name:policy".
	deletes []string
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	scheme := metadatafake.NewTestScheme()
	if err := metav1.AddMetaToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	client := metadatafake.NewSimpleMetadataClient(scheme)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	f := &fakeAPI{t: t, ctx: ctx, client: client, tracker: client.Tracker()}
	client.PrependReactor("delete", "*", f.reactDelete)
	client.PrependReactor("patch", "*", f.reactPatch)
	return f
}

func (f *fakeAPI) reactDelete(a clienttesting.Action) (bool, runtime.Object, error) {
	d := a.(clienttesting.DeleteActionImpl)
	gvr, ns, name := d.GetResource(), d.GetNamespace(), d.GetName()
	opts := d.GetDeleteOptions()
	policy := metav1.DeletePropagationBackground
	if opts.PropagationPolicy != nil {
		policy = *opts.PropagationPolicy
	}
	f.mu.Lock()
	f.deletes = append(f.deletes, fmt.Sprintf("%s/%s:%s", gvr.Resource, name, policy))
	f.mu.Unlock()

	obj, err := f.tracker.Get(gvr, ns, name)
	if err != nil {
		return true, nil, err
	}
	m := obj.(*metav1.PartialObjectMetadata)
	if opts.Preconditions != nil && opts.Preconditions.UID != nil && *opts.Preconditions.UID != m.UID {
		return true, nil, apierrors.NewConflict(gvr.GroupResource(), name, fmt.Errorf("precondition failed: UID in precondition: %s, UID in object meta: %s", *opts.Preconditions.UID, m.UID))
	}
	switch policy {
	case metav1.DeletePropagationForeground:
		m.Finalizers = appendOnce(m.Finalizers, metav1.FinalizerDeleteDependents)
	case metav1.DeletePropagationOrphan:
		m.Finalizers = appendOnce(m.Finalizers, metav1.FinalizerOrphanDependents)
	}
	if len(m.Finalizers) == 0 {
		return true, nil, f.tracker.Delete(gvr, ns, name)
	}
	if m.DeletionTimestamp == nil {
		m.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	}
	return true, m, f.tracker.Update(gvr, m, ns)
}

func (f *fakeAPI) reactPatch(a clienttesting.Action) (bool, runtime.Object, error) {
	p := a.(clienttesting.PatchActionImpl)
	gvr, ns, name := p.GetResource(), p.GetNamespace(), p.GetName()
	_, ret, err := clienttesting.ObjectReaction(f.tracker)(a)
	if err != nil {
		return true, nil, err
	}
	m := ret.(*metav1.PartialObjectMetadata)
	if m.DeletionTimestamp != nil && len(m.Finalizers) == 0 {
		return true, m, f.tracker.Delete(gvr, ns, name)
	}
	return true, ret, nil
}

func appendOnce(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// create stores an object; kind and apiVersion come from testKinds.
func (f *fakeAPI) create(gvr schema.GroupVersionResource, ns, name string, mutate func(*metav1.PartialObjectMetadata), owners ...metav1.OwnerReference) *metav1.PartialObjectMetadata {
	f.t.Helper()
	var gvk schema.GroupVersionKind
	for k, r := range testKinds {
		if r == gvr {
			gvk = k
		}
	}
	obj := &metav1.PartialObjectMetadata{
		TypeMeta: metav1.TypeMeta{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ns, UID: types.UID(fmt.Sprintf("%s-%d", name, f.uids.Add(1))),
			OwnerReferences: owners,
		},
	}
	if mutate != nil {
		mutate(obj)
	}
	if err := f.tracker.Create(gvr, obj, ns); err != nil {
		f.t.Fatal(err)
	}
	return obj
}

// ref is a reference to owner as a controller would write it.
func ref(owner *metav1.PartialObjectMetadata, block bool) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: owner.APIVersion, Kind: owner.Kind, Name: owner.Name, UID: owner.UID, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(block)}
}

func (f *fakeAPI) get(gvr schema.GroupVersionResource, ns, name string) (*metav1.PartialObjectMetadata, bool) {
	obj, err := f.tracker.Get(gvr, ns, name)
	if apierrors.IsNotFound(err) {
		return nil, false
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return obj.(*metav1.PartialObjectMetadata), true
}

func (f *fakeAPI) exists(gvr schema.GroupVersionResource, ns, name string) bool {
	_, ok := f.get(gvr, ns, name)
	return ok
}

// delete sends a DELETE as a user would.
func (f *fakeAPI) delete(gvr schema.GroupVersionResource, ns, name string, policy metav1.DeletionPropagation) {
	f.t.Helper()
	if err := f.client.Resource(gvr).Namespace(ns).Delete(f.ctx, name, metav1.DeleteOptions{PropagationPolicy: &policy}); err != nil {
		f.t.Fatal(err)
	}
}

// removeFinalizer stands in for another controller (the Job controller's pod
// tracking finalizer).
func (f *fakeAPI) removeFinalizer(gvr schema.GroupVersionResource, ns, name, finalizer string) {
	f.t.Helper()
	obj, ok := f.get(gvr, ns, name)
	if !ok {
		f.t.Fatalf("%s %s not found", gvr.Resource, name)
	}
	obj.Finalizers = slices.DeleteFunc(obj.Finalizers, func(s string) bool { return s == finalizer })
	if obj.DeletionTimestamp != nil && len(obj.Finalizers) == 0 {
		if err := f.tracker.Delete(gvr, ns, name); err != nil {
			f.t.Fatal(err)
		}
		return
	}
	if err := f.tracker.Update(gvr, obj, ns); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fakeAPI) deleteRequests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.deletes)
}

// start runs a Collector over every test resource until the test ends.
func (f *fakeAPI) start() *Collector {
	f.t.Helper()
	c, err := New(Options{
		Metadata:  f.client,
		Resources: []schema.GroupVersionResource{podsGVR, jobsGVR, cronJobsGVR, nodesGVR, eventsGVR},
		Kinds:     testKinds,
		Clock:     clock.RealClock{},
	})
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, 2) }()
	f.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			f.t.Errorf("Run: %v", err)
		}
	})
	return c
}

// eventually polls cond until it holds or the deadline passes.
func (f *fakeAPI) eventually(what string, cond func() bool) {
	f.t.Helper()
	err := wait.PollUntilContextTimeout(f.ctx, 5*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return cond(), nil
	})
	if err != nil {
		f.t.Fatalf("timed out waiting until %s", what)
	}
}

// never checks that cond stays false for a while (used after the positive outcome
// of a related change was seen, so the collector has had its chance).
func (f *fakeAPI) never(what string, cond func() bool) {
	f.t.Helper()
	err := wait.PollUntilContextTimeout(f.ctx, 5*time.Millisecond, 300*time.Millisecond, true, func(context.Context) (bool, error) {
		return cond(), nil
	})
	if err == nil {
		f.t.Fatalf("unexpectedly: %s", what)
	}
}
