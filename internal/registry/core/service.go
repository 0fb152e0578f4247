package core

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/kjet-dev/kjet/internal/registry"
	"github.com/kjet-dev/kjet/internal/registry/printers"
)

// ServiceStrategy returns the rules of services. kjet stores services (no proxying and
// no IP allocation): defaults are type ClusterIP, sessionAffinity None,
// internalTrafficPolicy Cluster, port protocol TCP and targetPort = port; names are DNS
// labels; ports are valid, named when there are several, unique.
func ServiceStrategy() registry.FuncStrategy[*corev1.Service] {
	return registry.FuncStrategy[*corev1.Service]{
		Namespaced: true,
		NameFn:     apivalidation.NameIsDNS1035Label,
		Defaults:   setServiceDefaults,
		PrepareCreate: func(s *corev1.Service) {
			s.Status = corev1.ServiceStatus{}
		},
		PrepareUpdate: func(s, old *corev1.Service) {
			s.Status = old.Status
			if s.Spec.ClusterIP == "" {
				s.Spec.ClusterIP, s.Spec.ClusterIPs = old.Spec.ClusterIP, old.Spec.ClusterIPs
			}
		},
		Check: validateService,
		CheckUpdate: func(s, old *corev1.Service) field.ErrorList {
			if old.Spec.ClusterIP != "" {
				return apivalidation.ValidateImmutableField(s.Spec.ClusterIP, old.Spec.ClusterIP, field.NewPath("spec", "clusterIP"))
			}
			return nil
		},
		GenerationChanged: func(s, old *corev1.Service) bool { return !equality.Semantic.DeepEqual(s.Spec, old.Spec) },
	}
}

func setServiceDefaults(s *corev1.Service) {
	spec := &s.Spec
	if spec.Type == "" {
		spec.Type = corev1.ServiceTypeClusterIP
	}
	if spec.SessionAffinity == "" {
		spec.SessionAffinity = corev1.ServiceAffinityNone
	}
	if spec.Type != corev1.ServiceTypeExternalName && spec.InternalTrafficPolicy == nil {
		spec.InternalTrafficPolicy = ptr.To(corev1.ServiceInternalTrafficPolicyCluster)
	}
	if spec.ClusterIP != "" && len(spec.ClusterIPs) == 0 {
		spec.ClusterIPs = []string{spec.ClusterIP}
	}
	for i := range spec.Ports {
		p := &spec.Ports[i]
		if p.Protocol == "" {
			p.Protocol = corev1.ProtocolTCP
		}
		if p.TargetPort.Type == intstr.Int && p.TargetPort.IntVal == 0 {
			p.TargetPort = intstr.FromInt32(p.Port)
		}
	}
}

func validateService(s *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	specPath := field.NewPath("spec")
	switch s.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeExternalName:
	default:
		errs = append(errs, field.NotSupported(specPath.Child("type"), s.Spec.Type,
			[]string{string(corev1.ServiceTypeClusterIP), string(corev1.ServiceTypeExternalName), string(corev1.ServiceTypeLoadBalancer), string(corev1.ServiceTypeNodePort)}))
	}
	if s.Spec.Type == corev1.ServiceTypeExternalName && s.Spec.ExternalName == "" {
		errs = append(errs, field.Required(specPath.Child("externalName"), ""))
	}
	if s.Spec.Type != corev1.ServiceTypeExternalName && len(s.Spec.Ports) == 0 && s.Spec.ClusterIP != corev1.ClusterIPNone {
		errs = append(errs, field.Required(specPath.Child("ports"), ""))
	}
	switch s.Spec.SessionAffinity {
	case corev1.ServiceAffinityNone, corev1.ServiceAffinityClientIP:
	default:
		errs = append(errs, field.NotSupported(specPath.Child("sessionAffinity"), s.Spec.SessionAffinity,
			[]string{string(corev1.ServiceAffinityClientIP), string(corev1.ServiceAffinityNone)}))
	}
	errs = append(errs, metav1validation.ValidateLabels(s.Spec.Selector, specPath.Child("selector"))...)
	names := sets.New[string]()
	for i, p := range s.Spec.Ports {
		portPath := specPath.Child("ports").Index(i)
		if len(s.Spec.Ports) > 1 && p.Name == "" {
			errs = append(errs, field.Required(portPath.Child("name"), ""))
		} else if p.Name != "" {
			for _, msg := range validation.IsDNS1123Label(p.Name) {
				errs = append(errs, field.Invalid(portPath.Child("name"), p.Name, msg))
			}
			if names.Has(p.Name) {
				errs = append(errs, field.Duplicate(portPath.Child("name"), p.Name))
			}
			names.Insert(p.Name)
		}
		for _, msg := range validation.IsValidPortNum(int(p.Port)) {
			errs = append(errs, field.Invalid(portPath.Child("port"), p.Port, msg))
		}
		switch p.Protocol {
		case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		default:
			errs = append(errs, field.NotSupported(portPath.Child("protocol"), p.Protocol,
				[]string{string(corev1.ProtocolSCTP), string(corev1.ProtocolTCP), string(corev1.ProtocolUDP)}))
		}
		if p.TargetPort.Type == intstr.Int {
			for _, msg := range validation.IsValidPortNum(int(p.TargetPort.IntVal)) {
				errs = append(errs, field.Invalid(portPath.Child("targetPort"), p.TargetPort.IntVal, msg))
			}
		} else {
			for _, msg := range validation.IsValidPortName(p.TargetPort.StrVal) {
				errs = append(errs, field.Invalid(portPath.Child("targetPort"), p.TargetPort.StrVal, msg))
			}
		}
	}
	return errs
}

// ServiceTable renders NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE [SELECTOR].
type ServiceTable struct{}

var _ registry.TableConvertor = ServiceTable{}

// Columns implements registry.TableConvertor.
func (ServiceTable) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		printers.NameColumn(),
		printers.Column("Type", "string", "type determines how the Service is exposed.", 0),
		printers.Column("Cluster-IP", "string", "clusterIP is the IP address of the service and is usually assigned randomly.", 0),
		printers.Column("External-IP", "string", "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.", 0),
		printers.Column("Port(s)", "string", "The list of ports that are exposed by this service.", 0),
		printers.AgeColumn(),
		printers.Column("Selector", "string", "Route service traffic to pods with label keys and values matching this selector.", 1),
	}
}

// Cells implements registry.TableConvertor.
func (ServiceTable) Cells(obj runtime.Object, now time.Time) ([]interface{}, error) {
	s, ok := obj.(*corev1.Service)
	if !ok {
		return nil, fmt.Errorf("service table: unexpected object %T", obj)
	}
	clusterIP := printers.None
	if len(s.Spec.ClusterIPs) > 0 {
		clusterIP = s.Spec.ClusterIPs[0]
	} else if s.Spec.ClusterIP != "" {
		clusterIP = s.Spec.ClusterIP
	}
	ports := make([]string, 0, len(s.Spec.Ports))
	for _, p := range s.Spec.Ports {
		if p.NodePort > 0 {
			ports = append(ports, fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol))
		} else {
			ports = append(ports, fmt.Sprintf("%d/%s", p.Port, p.Protocol))
		}
	}
	return []interface{}{
		s.Name,
		string(s.Spec.Type),
		clusterIP,
		serviceExternalIP(s),
		printers.OrNone(strings.Join(ports, ",")),
		printers.Since(s.CreationTimestamp, now),
		labels.FormatLabels(s.Spec.Selector),
	}, nil
}

func serviceExternalIP(s *corev1.Service) string {
	switch s.Spec.Type {
	case corev1.ServiceTypeExternalName:
		return s.Spec.ExternalName
	case corev1.ServiceTypeLoadBalancer:
		var ips []string
		for _, ing := range s.Status.LoadBalancer.Ingress {
			if ing.IP != "" {
				ips = append(ips, ing.IP)
			} else if ing.Hostname != "" {
				ips = append(ips, ing.Hostname)
			}
		}
		ips = append(ips, s.Spec.ExternalIPs...)
		if len(ips) == 0 {
			return "<pending>"
		}
		return strings.Join(ips, ",")
	default:
		if len(s.Spec.ExternalIPs) > 0 {
			return strings.Join(s.Spec.ExternalIPs, ",")
		}
		return printers.None
	}
}
