package scheduler

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	testingclock "k8s.io/utils/clock/testing"
)

func testNode(name string, cpu, mem string, mutate ...func(*corev1.Node)) *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse(cpu),
				corev1.ResourceMemory: resource.MustParse(mem),
				corev1.ResourcePods:   resource.MustParse("2"),
			},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
		},
	}
	for _, m := range mutate {
		m(n)
	}
	return n
}

func testPod(name string, cpu string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}},
	}
	if cpu != "" {
		p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func TestFits(t *testing.T) {
	gpuNode := testNode("n", "2", "1Gi", func(n *corev1.Node) {
		n.Status.Allocatable[ResourceGPU] = resource.MustParse("1")
	})
	cases := []struct {
		name string
		pod  *corev1.Pod
		node *corev1.Node
		used nodeUsage
		want []string
	}{
		{name: "fits", pod: testPod("p", "1"), node: testNode("n", "2", "1Gi")},
		{name: "insufficient cpu", pod: testPod("p", "3"), node: testNode("n", "2", "1Gi"), want: []string{"Insufficient cpu"}},
		{name: "insufficient after used", pod: testPod("p", "1500m"), node: testNode("n", "2", "1Gi"),
			used: nodeUsage{requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}, pods: 1}, want: []string{"Insufficient cpu"}},
		{name: "too many pods", pod: testPod("p", ""), node: testNode("n", "2", "1Gi"), used: nodeUsage{pods: 2}, want: []string{"Too many pods"}},
		{name: "gpu missing", pod: testPod("p", "", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{ResourceGPU: resource.MustParse("1")}
		}), node: testNode("n", "2", "1Gi"), want: []string{"Insufficient nvidia.com/gpu"}},
		{name: "gpu present", pod: testPod("p", "", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{ResourceGPU: resource.MustParse("1")}
		}), node: gpuNode},
		{name: "not ready", pod: testPod("p", ""), node: testNode("n", "2", "1Gi", func(n *corev1.Node) {
			n.Status.Conditions[0].Status = corev1.ConditionFalse
		}), want: []string{reasonNotReady}},
		{name: "cordoned", pod: testPod("p", ""), node: testNode("n", "2", "1Gi", func(n *corev1.Node) { n.Spec.Unschedulable = true }),
			want: []string{reasonUnschedulable}},
		{name: "node selector mismatch", pod: testPod("p", "", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"gpu": "yes"} }),
			node: testNode("n", "2", "1Gi"), want: []string{reasonAffinity}},
		{name: "node selector match", pod: testPod("p", "", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"kubernetes.io/hostname": "n"} }),
			node: testNode("n", "2", "1Gi")},
		{name: "untolerated taint", pod: testPod("p", ""), node: testNode("n", "2", "1Gi", func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "k", Value: "v", Effect: corev1.TaintEffectNoSchedule}}
		}), want: []string{"node(s) had untolerated taint {k: v}"}},
		{name: "tolerated taint", pod: testPod("p", "", func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists}}
		}), node: testNode("n", "2", "1Gi", func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "k", Value: "v", Effect: corev1.TaintEffectNoSchedule}}
		})},
		{name: "prefer no schedule ignored", pod: testPod("p", ""), node: testNode("n", "2", "1Gi", func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectPreferNoSchedule}}
		})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := fits(tc.pod, podRequests(tc.pod), tc.node, tc.used)
			if len(got) != len(tc.want) {
				t.Fatalf("fits = %q, want %q", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("fits = %q, want %q", got, tc.want)
				}
			}
		})
	}
}

func TestUnschedulableMessage(t *testing.T) {
	cases := []struct {
		name    string
		nodes   int
		reasons [][]string
		want    string
	}{
		{name: "no nodes", want: "no nodes available to schedule pods"},
		{name: "one cpu", nodes: 1, reasons: [][]string{{"Insufficient cpu"}}, want: "0/1 nodes are available: 1 Insufficient cpu."},
		{name: "mixed", nodes: 3, reasons: [][]string{{"Insufficient cpu", "Insufficient memory"}, {"Insufficient cpu"}, {reasonUnschedulable}},
			want: "0/3 nodes are available: 1 Insufficient memory, 1 node(s) were unschedulable, 2 Insufficient cpu."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := unschedulableMessage(tc.nodes, tc.reasons); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// bindReactor makes the fake clientset apply pods/binding like the API server does.
func bindReactor(client *fake.Clientset) {
	client.PrependReactor("create", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		ca, ok := action.(k8stesting.CreateAction)
		if !ok || action.GetSubresource() != "binding" {
			return false, nil, nil
		}
		b := ca.GetObject().(*corev1.Binding)
		obj, err := client.Tracker().Get(corev1.SchemeGroupVersion.WithResource("pods"), b.Namespace, b.Name)
		if err != nil {
			return true, nil, err
		}
		pod := obj.(*corev1.Pod).DeepCopy()
		pod.Spec.NodeName = b.Target.Name
		return true, b, client.Tracker().Update(corev1.SchemeGroupVersion.WithResource("pods"), pod, b.Namespace)
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSchedulerBindsAndReportsUnschedulable(t *testing.T) {
	cases := []struct {
		name string
		// shared runs the scheduler on a factory the test starts before Run, as
		// kjet server shares one with its other components.
		shared bool
	}{
		{name: "own informers"},
		{name: "shared informers started before Run", shared: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			small := testPod("small", "1")
			big := testPod("big", "4")
			client := fake.NewClientset(testNode("a", "2", "1Gi"), small, big)
			bindReactor(client)
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			t.Cleanup(func() { cancel(); wg.Wait() })
			opts := Options{Client: client, Clock: testingclock.NewFakeClock(time.Now())}
			if tc.shared {
				opts.Informers = informers.NewSharedInformerFactory(client, 0)
			}
			s, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			if tc.shared {
				opts.Informers.Start(ctx.Done())
				// Cleanups run in reverse order: this one runs first, so it
				// cancels before it shuts the factory down.
				t.Cleanup(func() { cancel(); opts.Informers.Shutdown() })
			}
			wg.Add(1)
			go func() { defer wg.Done(); _ = s.Run(ctx) }()

			get := func(name string) *corev1.Pod {
				p, err := client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				return p
			}
			waitFor(t, "small bound", func() bool { return get("small").Spec.NodeName == "a" })
			waitFor(t, "big unschedulable", func() bool {
				for _, c := range get("big").Status.Conditions {
					if c.Type == corev1.PodScheduled && c.Reason == corev1.PodReasonUnschedulable {
						return c.Message == "0/1 nodes are available: 1 Insufficient cpu."
					}
				}
				return false
			})
			if get("big").Spec.NodeName != "" {
				t.Fatal("big pod was bound")
			}
			// A bigger node appears: the pending pod is retried at once.
			if _, err := client.CoreV1().Nodes().Create(ctx, testNode("b", "8", "1Gi"), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "big bound to b", func() bool { return get("big").Spec.NodeName == "b" })
		})
	}
}

func TestLeastAllocatedPrefersEmptierNode(t *testing.T) {
	pod := testPod("p", "500m")
	reqs := podRequests(pod)
	node := testNode("n", "2", "1Gi")
	empty := leastAllocatedScore(reqs, node, nodeUsage{})
	busy := leastAllocatedScore(reqs, node, nodeUsage{requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}, pods: 1})
	if empty <= busy {
		t.Fatalf("empty node scored %d, busy node %d", empty, busy)
	}
}

func TestGatedPodIsNotBound(t *testing.T) {
	gated := testPod("gated", "", func(p *corev1.Pod) {
		p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "wait"}}
	})
	client := fake.NewClientset(testNode("a", "2", "1Gi"), gated)
	bindReactor(client)
	s, err := New(Options{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = s.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	waitFor(t, "SchedulingGated condition", func() bool {
		p, err := client.CoreV1().Pods("default").Get(ctx, "gated", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Reason == corev1.PodReasonSchedulingGated {
				return p.Spec.NodeName == ""
			}
		}
		return false
	})
}

// A node's room is taken by its bound pods that have not finished and by the pods this
// scheduler bound that the cache does not show bound yet, each counted once.
func TestUsageByNodeCountsActivePods(t *testing.T) {
	onNode := func(node string, phase corev1.PodPhase) func(*corev1.Pod) {
		return func(p *corev1.Pod) { p.Spec.NodeName, p.Status.Phase = node, phase }
	}
	client := fake.NewClientset(
		testPod("running-a", "1", onNode("a", corev1.PodRunning)),
		testPod("done-a", "1", onNode("a", corev1.PodSucceeded)),
		testPod("failed-b", "2", onNode("b", corev1.PodFailed)),
		testPod("running-b", "500m", onNode("b", corev1.PodRunning)),
		testPod("assumed-b", "250m"),
		testPod("unbound", "4"),
	)
	s, err := New(Options{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.factory.Start(ctx.Done())
	t.Cleanup(func() { cancel(); s.factory.Shutdown() })
	s.factory.WaitForCacheSync(ctx.Done())
	assumed, err := s.pods.Pods("default").Get("assumed-b")
	if err != nil {
		t.Fatal(err)
	}
	s.assumed[assumed.UID] = assumedPod{node: "b", requests: podRequests(assumed)}

	usage, err := s.usageByNode([]*corev1.Node{testNode("a", "2", "1Gi"), testNode("b", "2", "1Gi")})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		cpu  string
		pods int
	}{"a": {"1", 1}, "b": {"750m", 2}}
	for node, w := range want {
		u := usage[node]
		if cpu := u.requests[corev1.ResourceCPU]; cpu.Cmp(resource.MustParse(w.cpu)) != 0 || u.pods != w.pods {
			t.Errorf("node %s: cpu %s, %d pods; want %s, %d pods", node, cpu.String(), u.pods, w.cpu, w.pods)
		}
	}
}
