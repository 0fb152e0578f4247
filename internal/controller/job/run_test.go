package job

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// TestRunCompletesAJob runs the whole controller (informers, workers, event
// delivery) against a fake clientset and plays the node's part by hand.
func TestRunCompletesAJob(t *testing.T) {
	client := fake.NewClientset()
	var n atomic.Int64
	client.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pod := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		if pod.Name == "" {
			pod.Name = fmt.Sprintf("%s%05d", pod.GenerateName, n.Add(1))
			pod.UID = types.UID("uid-" + pod.Name)
		}
		return false, nil, nil
	})
	// Like the API server (and unlike the fake tracker), refuse a Job write based on a
	// stale resourceVersion: a controller that syncs before its cache has seen its own
	// last status write must get a conflict, not silently overwrite that write.
	client.PrependReactor("update", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		job := a.(k8stesting.UpdateAction).GetObject().(*batchv1.Job)
		gvr := batchv1.SchemeGroupVersion.WithResource("jobs")
		cur, err := client.Tracker().Get(gvr, job.Namespace, job.Name)
		if err != nil {
			return true, nil, err
		}
		if job.ResourceVersion != cur.(*batchv1.Job).ResourceVersion {
			return true, nil, apierrors.NewConflict(batchv1.Resource("jobs"), job.Name, errors.New("the object has been modified"))
		}
		job = job.DeepCopy()
		job.ResourceVersion = fmt.Sprint(n.Add(1))
		if err := client.Tracker().Update(gvr, job, job.Namespace); err != nil {
			return true, nil, err
		}
		return true, job, nil
	})
	factory := informers.NewSharedInformerFactory(client, 0)
	c, err := New(Options{Client: client, Informers: factory, SyncDelay: 10 * time.Millisecond, BackoffBase: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	factory.Start(ctx.Done())
	go func() { done <- c.Run(ctx, 2) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		factory.Shutdown()
	})

	job := newJob("basic", 2, 3)
	job.Status = batchv1.JobStatus{}
	if _, err := client.BatchV1().Jobs("ns").Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	finished := map[string]bool{}
	failedOnce := false
	deadline := time.Now().Add(20 * time.Second)
	for {
		if time.Now().After(deadline) {
			got, _ := client.BatchV1().Jobs("ns").Get(ctx, "basic", metav1.GetOptions{})
			pods, _ := client.CoreV1().Pods("ns").List(ctx, metav1.ListOptions{})
			for _, p := range pods.Items {
				t.Logf("pod %s %s %v rv=%s", p.Name, p.Status.Phase, p.Finalizers, p.ResourceVersion)
			}
			cached, _ := c.podLister.List(labels.Everything())
			for _, p := range cached {
				t.Logf("cached pod %s %s %v", p.Name, p.Status.Phase, p.Finalizers)
			}
			t.Fatalf("job did not complete: %+v", got.Status)
		}
		got, err := client.BatchV1().Jobs("ns").Get(ctx, "basic", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if isFinished(got) {
			if condSummary(got.Status.Conditions) != "SuccessCriteriaMet=True/CompletionsReached,Complete=True/CompletionsReached" {
				t.Fatalf("conditions %s", condSummary(got.Status.Conditions))
			}
			if got.Status.Succeeded != 3 || got.Status.Failed != 1 || got.Status.Active != 0 {
				t.Fatalf("status %+v", got.Status)
			}
			break
		}
		// The "node": the first pod fails, every other pod succeeds.
		pods, _ := client.CoreV1().Pods("ns").List(ctx, metav1.ListOptions{})
		for i := range pods.Items {
			p := &pods.Items[i]
			if finished[p.Name] {
				continue
			}
			finished[p.Name] = true
			p.Status.Phase = corev1.PodSucceeded
			code := int32(0)
			if !failedOnce {
				failedOnce = true
				p.Status.Phase = corev1.PodFailed
				code = 1
			}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "worker", State: corev1.ContainerState{
				Terminated: &corev1.ContainerStateTerminated{ExitCode: code, FinishedAt: metav1.Now()}}}}
			// The fake tracker keeps no resourceVersions; informers need them.
			p.ResourceVersion = fmt.Sprint(n.Add(1))
			if _, err := client.CoreV1().Pods("ns").UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Every pod is off the ledger, and the events reached the API.
	waitFor(t, func() bool {
		pods, _ := client.CoreV1().Pods("ns").List(ctx, metav1.ListOptions{})
		for _, p := range pods.Items {
			if hasTrackingFinalizer(&p) {
				return false
			}
		}
		return len(pods.Items) == 4
	})
	waitFor(t, func() bool {
		evs, _ := client.CoreV1().Events("ns").List(ctx, metav1.ListOptions{})
		for _, e := range evs.Items {
			if e.Reason == "Completed" && e.Source.Component == "job-controller" && e.InvolvedObject.Kind == "Job" && e.InvolvedObject.Name == "basic" {
				return true
			}
		}
		return false
	})
}
