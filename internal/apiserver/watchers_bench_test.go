package apiserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// benchPod is a pod shaped like the ones an Indexed Job creates: labels, annotations,
// an owner, a container with env and resources, a status with conditions.
func benchPod(label string) *corev1.Pod {
	isController := true
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "bench-0-abcde", Namespace: "default", UID: "0b7a5ab8-3d7e-4c4e-9d8f-1b2c3d4e5f60",
			GenerateName:      "bench-0-",
			CreationTimestamp: metav1.NewTime(testNow),
			Labels: map[string]string{
				"batch.kubernetes.io/controller-uid":       "5c0ffee0-3d7e-4c4e-9d8f-1b2c3d4e5f60",
				"batch.kubernetes.io/job-name":             "bench",
				"batch.kubernetes.io/job-completion-index": "0",
				"bench": label,
			},
			Annotations: map[string]string{"batch.kubernetes.io/job-completion-index": "0"},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "batch/v1", Kind: "Job", Name: "bench", UID: "5c0ffee0-3d7e-4c4e-9d8f-1b2c3d4e5f60",
				Controller: &isController, BlockOwnerDeletion: &isController,
			}},
			Finalizers: []string{"batch.kubernetes.io/job-tracking"},
		},
		Spec: corev1.PodSpec{
			NodeName:      "n1",
			RestartPolicy: corev1.RestartPolicyNever,
			Hostname:      "bench-0",
			Subdomain:     "bench",
			Containers: []corev1.Container{{
				Name: "worker", Image: "busybox:1.36", Command: []string{"sh", "-c", "echo $JOB_COMPLETION_INDEX"},
				Env: []corev1.EnvVar{{Name: "JOB_COMPLETION_INDEX", ValueFrom: &corev1.EnvVarSource{
					FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']"},
				}}},
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: apiresource.MustParse("100m"), corev1.ResourceMemory: apiresource.MustParse("64Mi"),
				}},
				TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageReadFile,
				ImagePullPolicy: corev1.PullIfNotPresent,
			}},
			DNSPolicy: corev1.DNSClusterFirst, SchedulerName: "default-scheduler",
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, HostIP: "10.0.0.1", PodIP: "10.0.0.2",
			StartTime: &metav1.Time{Time: testNow},
			Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(testNow)},
				{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(testNow)},
				{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(testNow)},
				{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(testNow)},
			},
			ContainerStatuses: []corev1.ContainerStatus{{
				Name: "worker", Ready: true, Image: "busybox:1.36", ImageID: "docker.io/library/busybox@sha256:0123",
				ContainerID: "kjet://0123456789abcdef",
				State:       corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(testNow)}},
			}},
		},
	}
}

// BenchmarkPodWatchers measures the server's cost of one pod change seen by four
// watchers, the in-process informers' case (scheduler, node agent, Job controller,
// a kubectl or kjet run watch). Changes are written to the store directly, so ns/op
// and allocs/op are the watch side only: decoding, filtering, encoding, writing.
func BenchmarkPodWatchers(b *testing.B) {
	const watchers = 4
	for _, bc := range []struct {
		name   string
		query  string
		accept string
	}{
		{name: "json", query: "?watch=true&resourceVersion=0"},
		{name: "json-fieldselector", query: "?watch=true&resourceVersion=0&fieldSelector=spec.nodeName%3Dn1"},
		{name: "protobuf", query: "?watch=true&resourceVersion=0", accept: mediaProtobuf},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := newTestEnv(b)
			res := e.server.byGroupVersion["v1"]["pods"]
			pod := benchPod("a")
			data := make([][]byte, 2)
			for i, label := range []string{"a", "b"} {
				var err error
				if data[i], err = e.server.codecs.encodeStorage(benchPod(label), res.gvk); err != nil {
					b.Fatal(err)
				}
			}
			ctx := context.Background()
			key := res.key(pod.Namespace, pod.Name)
			if _, err := e.server.store.Create(ctx, key, data[0]); err != nil {
				b.Fatal(err)
			}
			counts := make([]chan struct{}, watchers)
			for i := range counts {
				counts[i] = e.countEvents(b, "/api/v1/namespaces/default/pods"+bc.query, bc.accept)
				waitEvent(b, counts[i]) // the initial ADDED
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpuBefore := processCPU(b)
			for i := 0; i < b.N; i++ {
				if _, err := e.server.store.Update(ctx, key, data[(i+1)%2], 0); err != nil {
					b.Fatal(err)
				}
				for _, c := range counts {
					waitEvent(b, c)
				}
			}
			b.ReportMetric(float64(processCPU(b)-cpuBefore)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the CPU time (user and system) the process has used so far.
func processCPU(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func waitEvent(b *testing.B, c <-chan struct{}) {
	b.Helper()
	select {
	case _, ok := <-c:
		if !ok {
			b.Fatal("watch ended")
		}
	case <-time.After(10 * time.Second):
		b.Fatal("no watch event within 10s")
	}
}

// countEvents opens a watch and signals each event received without decoding it, so
// that the client's work stays out of the measurement.
func (e *testEnv) countEvents(b *testing.B, path, accept string) chan struct{} {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", e.http.URL+path, nil)
	if err != nil {
		b.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := e.http.Client().Do(req)
	if err != nil {
		cancel()
		b.Fatalf("watch %s: %v", path, err)
	}
	events := make(chan struct{}, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(events)
		r := bufio.NewReaderSize(resp.Body, 64<<10)
		for {
			if accept == mediaProtobuf {
				var size [4]byte
				if _, err := io.ReadFull(r, size[:]); err != nil {
					return
				}
				if _, err := r.Discard(int(binary.BigEndian.Uint32(size[:]))); err != nil {
					return
				}
			} else if _, err := r.ReadSlice('\n'); err != nil && err != bufio.ErrBufferFull {
				return
			} else if err == bufio.ErrBufferFull {
				continue
			}
			select {
			case events <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	b.Cleanup(func() {
		cancel()
		resp.Body.Close()
		<-done
	})
	return events
}

// BenchmarkDecodeStoredPod decodes a stored pod the way every read and watch event
// does, from each storage format: protobuf (written now) and JSON (written by kjet
// before protobuf, still read).
func BenchmarkDecodeStoredPod(b *testing.B) {
	e := newTestEnv(b)
	res := e.server.byGroupVersion["v1"]["pods"]
	protobufValue, err := e.server.codecs.encodeStorage(benchPod("a"), res.gvk)
	if err != nil {
		b.Fatal(err)
	}
	var jsonValue bytes.Buffer
	if err := e.server.codecs.json.Encode(benchPod("a"), &jsonValue); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name  string
		value []byte
	}{
		{name: "protobuf", value: protobufValue},
		{name: "json", value: jsonValue.Bytes()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.value)))
			for i := 0; i < b.N; i++ {
				if _, err := e.server.decodeKV(res, bc.value, 7); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
