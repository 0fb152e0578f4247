package core

import (
	"context"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/kjet-dev/kjet/internal/registry"
)

var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func meta(name, namespace string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: namespace, UID: "u", CreationTimestamp: metav1.NewTime(now.Add(-5 * time.Second))}
}

func errorStrings(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

func createErrors(s registry.Strategy, obj runtime.Object) []string {
	s.PrepareForCreate(context.Background(), obj)
	return errorStrings(s.Validate(context.Background(), obj))
}

func TestCreateValidation(t *testing.T) {
	tests := []struct {
		name     string
		strategy registry.Strategy
		obj      runtime.Object
		want     []string
	}{
		{"namespace ok", NamespaceStrategy(), &corev1.Namespace{ObjectMeta: meta("team-a", "")}, nil},
		{"namespace not a DNS label", NamespaceStrategy(), &corev1.Namespace{ObjectMeta: meta("team.a", "")},
			[]string{`metadata.name: Invalid value: "team.a": must not contain dots`}},
		{"configmap ok", ConfigMapStrategy(), &corev1.ConfigMap{ObjectMeta: meta("c", "default"), Data: map[string]string{"a.txt": "x"}}, nil},
		{"configmap bad key", ConfigMapStrategy(), &corev1.ConfigMap{ObjectMeta: meta("c", "default"), Data: map[string]string{"a b": "x"}},
			[]string{`data[a b]: Invalid value: "a b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`}},
		{"configmap namespace required", ConfigMapStrategy(), &corev1.ConfigMap{ObjectMeta: meta("c", "")}, []string{"metadata.namespace: Required value"}},
		{"secret ok", SecretStrategy(), &corev1.Secret{ObjectMeta: meta("s", "default"), StringData: map[string]string{"k": "v"}}, nil},
		{"tls secret without key", SecretStrategy(), &corev1.Secret{ObjectMeta: meta("s", "default"), Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": nil}},
			[]string{"data[tls.key]: Required value"}},
		{"event ok", EventStrategy(), &corev1.Event{ObjectMeta: meta("pi.1", "default"), InvolvedObject: corev1.ObjectReference{Namespace: "default"}}, nil},
		{"event in another namespace", EventStrategy(), &corev1.Event{ObjectMeta: meta("pi.1", "default"), InvolvedObject: corev1.ObjectReference{Namespace: "other"}},
			[]string{`involvedObject.namespace: Invalid value: "other": does not match event.namespace`}},
		{"events.k8s.io bad type", EventsV1Strategy(), &eventsv1.Event{ObjectMeta: meta("pi.1", "default"), Type: "Odd"},
			[]string{`type: Unsupported value: "Odd": supported values: "Normal", "Warning"`}},
		{"node ok", NodeStrategy(), &corev1.Node{ObjectMeta: meta("node-1", "")}, nil},
		{"service ok", ServiceStrategy(), &corev1.Service{ObjectMeta: meta("web", "default"), Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}, nil},
		{"service without ports", ServiceStrategy(), &corev1.Service{ObjectMeta: meta("web", "default")}, []string{"spec.ports: Required value"}},
		{"service unnamed ports", ServiceStrategy(), &corev1.Service{ObjectMeta: meta("web", "default"), Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}, {Port: 443}}}},
			[]string{"spec.ports[0].name: Required value", "spec.ports[1].name: Required value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := createErrors(tt.strategy, tt.obj); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: meta("team-a", "")}
	NamespaceStrategy().PrepareForCreate(context.Background(), ns)
	if ns.Status.Phase != corev1.NamespaceActive || ns.Labels[NamespaceNameLabel] != "team-a" {
		t.Errorf("namespace: phase %s labels %v", ns.Status.Phase, ns.Labels)
	}
	s := &corev1.Secret{ObjectMeta: meta("s", "default"), StringData: map[string]string{"k": "v"}}
	SecretStrategy().PrepareForCreate(context.Background(), s)
	if s.Type != corev1.SecretTypeOpaque || string(s.Data["k"]) != "v" || s.StringData != nil {
		t.Errorf("secret: type %s data %v stringData %v", s.Type, s.Data, s.StringData)
	}
	svc := &corev1.Service{ObjectMeta: meta("web", "default"), Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}
	ServiceStrategy().PrepareForCreate(context.Background(), svc)
	p := svc.Spec.Ports[0]
	if svc.Spec.Type != corev1.ServiceTypeClusterIP || svc.Spec.SessionAffinity != corev1.ServiceAffinityNone ||
		p.Protocol != corev1.ProtocolTCP || p.TargetPort != intstr.FromInt32(80) || svc.Spec.ClusterIP != "" {
		t.Errorf("service defaults: %+v", svc.Spec)
	}
}

func TestUpdateRules(t *testing.T) {
	immutableCM := &corev1.ConfigMap{ObjectMeta: meta("c", "default"), Immutable: ptr.To(true), Data: map[string]string{"a": "1"}}
	immutableCM.ResourceVersion = "3"
	changedCM := immutableCM.DeepCopy()
	changedCM.Data["a"] = "2"
	secret := &corev1.Secret{ObjectMeta: meta("s", "default"), Type: corev1.SecretTypeOpaque}
	secret.ResourceVersion = "3"
	retyped := secret.DeepCopy()
	retyped.Type = corev1.SecretTypeBasicAuth
	tests := []struct {
		name     string
		strategy registry.Strategy
		obj, old runtime.Object
		want     []string
	}{
		{"immutable configmap", ConfigMapStrategy(), changedCM, immutableCM, []string{"data: Forbidden: field is immutable when `immutable` is set"}},
		{"secret type", SecretStrategy(), retyped, secret, []string{`type: Invalid value: "kubernetes.io/basic-auth": field is immutable`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.strategy.PrepareForUpdate(context.Background(), tt.obj, tt.old)
			got := errorStrings(tt.strategy.ValidateUpdate(context.Background(), tt.obj, tt.old))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestStatusStrategies(t *testing.T) {
	old := &corev1.Node{ObjectMeta: meta("n", ""), Spec: corev1.NodeSpec{Unschedulable: true}}
	n := old.DeepCopy()
	n.Spec.Unschedulable = false
	n.Labels = map[string]string{"x": "y"}
	n.Status.Phase = corev1.NodeRunning
	NodeStatus().PrepareForUpdate(context.Background(), n, old)
	if !n.Spec.Unschedulable || n.Labels != nil || n.Status.Phase != corev1.NodeRunning {
		t.Errorf("node status update kept %+v %v %s", n.Spec, n.Labels, n.Status.Phase)
	}
	// A spec write keeps the stored status.
	n2 := old.DeepCopy()
	old.Status.Phase = corev1.NodeRunning
	NodeStrategy().PrepareForUpdate(context.Background(), n2, old)
	if n2.Status.Phase != corev1.NodeRunning {
		t.Error("node spec update dropped status")
	}
	ns := &corev1.Namespace{ObjectMeta: meta("a", ""), Status: corev1.NamespaceStatus{Phase: "Odd"}}
	got := errorStrings(NamespaceStatus().ValidateUpdate(context.Background(), ns, ns.DeepCopy()))
	want := []string{`status.phase: Unsupported value: "Odd": supported values: "Active", "Terminating"`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("namespace status errors %q", got)
	}
}

func TestEventFields(t *testing.T) {
	e := &corev1.Event{
		ObjectMeta:     meta("pi.1", "default"),
		InvolvedObject: corev1.ObjectReference{Kind: "Job", Namespace: "default", Name: "pi", UID: "u1", APIVersion: "batch/v1"},
		Reason:         "SuccessfulCreate", Type: "Normal", Source: corev1.EventSource{Component: "job-controller"},
	}
	_, f, err := EventStrategy().AttrsFunc(e)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"involvedObject.kind": "Job", "involvedObject.name": "pi", "involvedObject.namespace": "default",
		"involvedObject.uid": "u1", "involvedObject.apiVersion": "batch/v1", "reason": "SuccessfulCreate",
		"type": "Normal", "source": "job-controller", "metadata.name": "pi.1",
	} {
		if f[k] != v {
			t.Errorf("%s = %q, want %q", k, f[k], v)
		}
	}
	v1 := &eventsv1.Event{ObjectMeta: meta("pi.2", "default"), Regarding: corev1.ObjectReference{Kind: "Pod", Name: "p"}}
	_, f, err = EventsV1Strategy().AttrsFunc(v1)
	if err != nil || f["involvedObject.kind"] != "Pod" || f["involvedObject.name"] != "p" {
		t.Errorf("events.k8s.io fields %v %v", f, err)
	}
}

func TestTables(t *testing.T) {
	ready := []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	tests := []struct {
		name  string
		table registry.TableConvertor
		obj   runtime.Object
		want  []interface{}
	}{
		{"namespace", NamespaceTable{}, &corev1.Namespace{ObjectMeta: meta("default", ""), Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}},
			[]interface{}{"default", "Active", "5s"}},
		{"configmap", ConfigMapTable{}, &corev1.ConfigMap{ObjectMeta: meta("c", "d"), Data: map[string]string{"a": ""}, BinaryData: map[string][]byte{"b": nil}},
			[]interface{}{"c", int64(2), "5s"}},
		{"secret", SecretTable{}, &corev1.Secret{ObjectMeta: meta("s", "d"), Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"a": nil}},
			[]interface{}{"s", "Opaque", int64(1), "5s"}},
		{"serviceaccount", ServiceAccountTable{}, &corev1.ServiceAccount{ObjectMeta: meta("default", "d")}, []interface{}{"default", int64(0), "5s"}},
		{"node", NodeTable{}, &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: "kjet", CreationTimestamp: metav1.NewTime(now.Add(-time.Hour)), Labels: map[string]string{"node-role.kubernetes.io/control-plane": ""}},
			Spec:       corev1.NodeSpec{Unschedulable: true},
			Status: corev1.NodeStatus{Conditions: ready, NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.34.0-kjet", OSImage: "Debian"},
				Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}},
		}, []interface{}{"kjet", "Ready,SchedulingDisabled", "control-plane", "60m", "v1.34.0-kjet", "127.0.0.1", "<none>", "Debian", "<unknown>", "<unknown>"}},
		{"node unknown", NodeTable{}, &corev1.Node{ObjectMeta: meta("n", "")},
			[]interface{}{"n", "Unknown", "<none>", "5s", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"}},
		{"service", ServiceTable{}, &corev1.Service{ObjectMeta: meta("web", "d"), Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeClusterIP, Ports: []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}, {Port: 53, Protocol: corev1.ProtocolUDP}},
			Selector: map[string]string{"app": "web"}}},
			[]interface{}{"web", "ClusterIP", "<none>", "<none>", "80/TCP,53/UDP", "5s", "app=web"}},
		{"event", EventTable{}, &corev1.Event{
			ObjectMeta:     meta("pi.1", "d"),
			InvolvedObject: corev1.ObjectReference{Kind: "Job", Name: "pi"},
			Reason:         "SuccessfulCreate", Type: "Normal", Message: "Created pod: pi-abcde ",
			Source:         corev1.EventSource{Component: "job-controller"},
			FirstTimestamp: metav1.NewTime(now.Add(-10 * time.Second)), LastTimestamp: metav1.NewTime(now.Add(-3 * time.Second)), Count: 2,
		}, []interface{}{"3s", "Normal", "SuccessfulCreate", "job/pi", "", "job-controller", "Created pod: pi-abcde", "10s", int64(2), "pi.1"}},
		{"events.k8s.io event", EventTable{}, &eventsv1.Event{
			ObjectMeta: meta("pi.2", "d"), Regarding: corev1.ObjectReference{Kind: "Pod", Name: "p"},
			Reason: "Started", Type: "Normal", Note: "Started container", ReportingController: "kjet-agent", ReportingInstance: "node-1",
			EventTime: metav1.NewMicroTime(now.Add(-4 * time.Second)),
		}, []interface{}{"4s", "Normal", "Started", "pod/p", "", "kjet-agent, node-1", "Started container", "4s", int64(1), "pi.2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.table.Cells(tt.obj, now)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("cells\n got %#v\nwant %#v", got, tt.want)
			}
			if len(got) != len(tt.table.Columns()) {
				t.Errorf("%d cells for %d columns", len(got), len(tt.table.Columns()))
			}
		})
	}
}
