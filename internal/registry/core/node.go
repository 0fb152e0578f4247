package core

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kjet-dev/kjet/internal/registry"
	"github.com/kjet-dev/kjet/internal/registry/printers"
)

// Node role labels kubectl reads for the ROLES column.
const (
	nodeRolePrefix = "node-role.kubernetes.io/"
	nodeRoleLabel  = "kubernetes.io/role"
)

// NodeStrategy returns the rules of nodes: cluster-scoped; a spec write keeps the status.
func NodeStrategy() registry.FuncStrategy[*corev1.Node] {
	return registry.FuncStrategy[*corev1.Node]{
		PrepareUpdate:     func(n, old *corev1.Node) { n.Status = old.Status },
		GenerationChanged: func(n, old *corev1.Node) bool { return !equality.Semantic.DeepEqual(n.Spec, old.Spec) },
		Fields: func(n *corev1.Node) fields.Set {
			return fields.Set{"spec.unschedulable": fmt.Sprint(n.Spec.Unschedulable)}
		},
	}
}

// NodeStatus returns the rules of nodes/status (written by the node agent).
func NodeStatus() registry.FuncStatusStrategy[*corev1.Node] {
	return registry.FuncStatusStrategy[*corev1.Node]{
		KeepSpec: func(n, old *corev1.Node) { n.Spec = old.Spec },
		CheckStatus: func(n, _ *corev1.Node) field.ErrorList {
			var errs field.ErrorList
			for name, q := range n.Status.Capacity {
				if q.Sign() < 0 {
					errs = append(errs, field.Invalid(field.NewPath("status", "capacity").Key(string(name)), q.String(), "must be greater than or equal to 0"))
				}
			}
			return errs
		},
	}
}

// NodeTable renders NAME STATUS ROLES AGE VERSION [INTERNAL-IP EXTERNAL-IP OS-IMAGE
// KERNEL-VERSION CONTAINER-RUNTIME].
type NodeTable struct{}

var _ registry.TableConvertor = NodeTable{}

// Columns implements registry.TableConvertor.
func (NodeTable) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		printers.NameColumn(),
		printers.Column("Status", "string", "The status of the node", 0),
		printers.Column("Roles", "string", "The roles of the node", 0),
		printers.AgeColumn(),
		printers.Column("Version", "string", "Kubelet Version reported by the node.", 0),
		printers.Column("Internal-IP", "string", "List of addresses reachable to the node. Queried from cloud provider, if available.", 1),
		printers.Column("External-IP", "string", "List of addresses reachable to the node. Queried from cloud provider, if available.", 1),
		printers.Column("OS-Image", "string", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).", 1),
		printers.Column("Kernel-Version", "string", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1),
		printers.Column("Container-Runtime", "string", "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).", 1),
	}
}

// Cells implements registry.TableConvertor.
func (NodeTable) Cells(obj runtime.Object, now time.Time) ([]interface{}, error) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return nil, fmt.Errorf("node table: unexpected object %T", obj)
	}
	var status []string
	for _, c := range n.Status.Conditions {
		if c.Type != corev1.NodeReady {
			continue
		}
		if c.Status == corev1.ConditionTrue {
			status = append(status, string(c.Type))
		} else {
			status = append(status, "Not"+string(c.Type))
		}
		break
	}
	if len(status) == 0 {
		status = append(status, "Unknown")
	}
	if n.Spec.Unschedulable {
		status = append(status, "SchedulingDisabled")
	}
	info := n.Status.NodeInfo
	return []interface{}{
		n.Name,
		strings.Join(status, ","),
		printers.OrNone(strings.Join(nodeRoles(n), ",")),
		printers.Since(n.CreationTimestamp, now),
		info.KubeletVersion,
		nodeAddress(n, corev1.NodeInternalIP),
		nodeAddress(n, corev1.NodeExternalIP),
		orUnknown(info.OSImage),
		orUnknown(info.KernelVersion),
		orUnknown(info.ContainerRuntimeVersion),
	}, nil
}

func nodeRoles(n *corev1.Node) []string {
	roles := sets.New[string]()
	for k, v := range n.Labels {
		switch {
		case strings.HasPrefix(k, nodeRolePrefix):
			if role := strings.TrimPrefix(k, nodeRolePrefix); role != "" {
				roles.Insert(role)
			}
		case k == nodeRoleLabel && v != "":
			roles.Insert(v)
		}
	}
	list := roles.UnsortedList()
	sort.Strings(list)
	return list
}

func nodeAddress(n *corev1.Node, t corev1.NodeAddressType) string {
	for _, a := range n.Status.Addresses {
		if a.Type == t {
			return a.Address
		}
	}
	return printers.None
}

func orUnknown(s string) string {
	if s == "" {
		return "<unknown>"
	}
	return s
}
