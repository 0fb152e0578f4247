package agent

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// NodeLeaseNamespace holds the nodes' heartbeat Leases.
const NodeLeaseNamespace = corev1.NamespaceNodeLease

// resourceGPU is the extended resource NVIDIA GPUs are counted in.
const resourceGPU corev1.ResourceName = "nvidia.com/gpu"

// nodeCapacity measures the machine: cpus, memory, GPUs, and the pod limit.
func nodeCapacity(maxPods, gpus int) corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewQuantity(int64(goruntime.NumCPU()), resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(memTotalBytes(), resource.BinarySI),
		corev1.ResourcePods:   *resource.NewQuantity(int64(maxPods), resource.DecimalSI),
		resourceGPU:           *resource.NewQuantity(int64(gpus), resource.DecimalSI),
	}
}

// memTotalBytes reads MemTotal from /proc/meminfo (0 if unreadable).
func memTotalBytes() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}

func readTrimmed(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func osImage() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "unknown"
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("PRETTY_NAME=")); ok {
			return strings.Trim(string(v), `"`)
		}
	}
	return "unknown"
}

// nodeStatus is the Node's status as of now.
func (a *Agent) nodeStatus(now time.Time, prev []corev1.NodeCondition) corev1.NodeStatus {
	nowT := metav1.NewTime(now)
	cond := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		c := corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: nowT, LastTransitionTime: nowT}
		for _, p := range prev {
			if p.Type == t && p.Status == s {
				c.LastTransitionTime = p.LastTransitionTime
			}
		}
		return c
	}
	hostname, _ := os.Hostname()
	return corev1.NodeStatus{
		Capacity:    a.nodeAllocatable.DeepCopy(),
		Allocatable: a.nodeAllocatable.DeepCopy(),
		Phase:       corev1.NodeRunning,
		Conditions: []corev1.NodeCondition{
			cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
			cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
			cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
			cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status"),
		},
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: podIP},
			{Type: corev1.NodeHostName, Address: hostname},
		},
		NodeInfo: corev1.NodeSystemInfo{
			MachineID:               readTrimmed("/etc/machine-id"),
			BootID:                  readTrimmed("/proc/sys/kernel/random/boot_id"),
			KernelVersion:           readTrimmed("/proc/sys/kernel/osrelease"),
			OSImage:                 osImage(),
			ContainerRuntimeVersion: "kjet-process://" + a.opts.Version,
			KubeletVersion:          a.opts.KubeletVersion,
			OperatingSystem:         goruntime.GOOS,
			Architecture:            goruntime.GOARCH,
		},
	}
}

func (a *Agent) nodeLabels() map[string]string {
	return map[string]string{
		corev1.LabelHostname:      a.opts.NodeName,
		corev1.LabelOSStable:      goruntime.GOOS,
		corev1.LabelArchStable:    goruntime.GOARCH,
		"beta.kubernetes.io/os":   goruntime.GOOS,
		"beta.kubernetes.io/arch": goruntime.GOARCH,
	}
}

// registerNode creates the Node or brings an existing one up to date, retrying until
// it succeeds or ctx ends.
func (a *Agent) registerNode(ctx context.Context) (*corev1.Node, error) {
	for {
		node, err := a.tryRegisterNode(ctx)
		if err == nil {
			return node, nil
		}
		a.log.Warn("registering node", "err", err)
		t := a.clock.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("registering node %s: %w", a.opts.NodeName, ctx.Err())
		case <-t.C():
		}
	}
}

func (a *Agent) tryRegisterNode(ctx context.Context) (*corev1.Node, error) {
	nodes := a.client.CoreV1().Nodes()
	node, err := nodes.Get(ctx, a.opts.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		node = &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: a.opts.NodeName, Labels: a.nodeLabels()}}
		node.Status = a.nodeStatus(a.clock.Now(), nil)
		node, err = nodes.Create(ctx, node, metav1.CreateOptions{})
		if err != nil {
			return nil, fmt.Errorf("creating node: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("reading node: %w", err)
	} else {
		changed := false
		for k, v := range a.nodeLabels() {
			if node.Labels[k] != v {
				if node.Labels == nil {
					node.Labels = map[string]string{}
				}
				node.Labels[k] = v
				changed = true
			}
		}
		if changed {
			if node, err = nodes.Update(ctx, node, metav1.UpdateOptions{}); err != nil {
				return nil, fmt.Errorf("updating node labels: %w", err)
			}
		}
	}
	return a.updateNodeStatus(ctx, node)
}

func (a *Agent) updateNodeStatus(ctx context.Context, node *corev1.Node) (*corev1.Node, error) {
	node = node.DeepCopy()
	node.Status = a.nodeStatus(a.clock.Now(), node.Status.Conditions)
	updated, err := a.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		fresh, gerr := a.client.CoreV1().Nodes().Get(ctx, node.Name, metav1.GetOptions{})
		if gerr != nil {
			return nil, fmt.Errorf("reading node: %w", gerr)
		}
		fresh.Status = a.nodeStatus(a.clock.Now(), fresh.Status.Conditions)
		updated, err = a.client.CoreV1().Nodes().UpdateStatus(ctx, fresh, metav1.UpdateOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("updating node status: %w", err)
	}
	return updated, nil
}

// heartbeat renews the node Lease every LeaseRenewInterval and the Node status every
// StatusInterval until ctx ends.
func (a *Agent) heartbeat(ctx context.Context, node *corev1.Node) {
	a.renewLease(ctx, node)
	lastStatus := a.clock.Now()
	for {
		t := a.clock.NewTimer(a.opts.LeaseRenewInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		a.renewLease(ctx, node)
		if a.clock.Since(lastStatus) >= a.opts.StatusInterval {
			if n, err := a.updateNodeStatus(ctx, node); err != nil {
				a.log.Warn("refreshing node status", "err", err)
			} else {
				node = n
			}
			lastStatus = a.clock.Now()
		}
	}
}

func (a *Agent) renewLease(ctx context.Context, node *corev1.Node) {
	leases := a.client.CoordinationV1().Leases(NodeLeaseNamespace)
	now := metav1.NewMicroTime(a.clock.Now())
	lease, err := leases.Get(ctx, a.opts.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		lease = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{
				Name: a.opts.NodeName, Namespace: NodeLeaseNamespace,
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}},
			},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       ptr.To(a.opts.NodeName),
				LeaseDurationSeconds: ptr.To(int32(a.opts.LeaseDuration / time.Second)),
				RenewTime:            &now,
			},
		}
		if _, err := leases.Create(ctx, lease, metav1.CreateOptions{}); err != nil && ctx.Err() == nil {
			a.log.Warn("creating node lease", "err", err)
		}
		return
	}
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("reading node lease", "err", err)
		}
		return
	}
	lease.Spec.RenewTime = &now
	lease.Spec.HolderIdentity = ptr.To(a.opts.NodeName)
	lease.Spec.LeaseDurationSeconds = ptr.To(int32(a.opts.LeaseDuration / time.Second))
	if _, err := leases.Update(ctx, lease, metav1.UpdateOptions{}); err != nil && ctx.Err() == nil {
		a.log.Warn("renewing node lease", "err", err)
	}
}
