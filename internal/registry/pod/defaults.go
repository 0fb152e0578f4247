package pod

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// Defaults Kubernetes applies to pod specs and containers.
const (
	DefaultTerminationGracePeriodSeconds int64 = 30
	DefaultSchedulerName                       = "default-scheduler"
	DefaultTerminationMessagePath              = "/dev/termination-log"
	DefaultServiceAccountName                  = "default"
	// DefaultTolerationSeconds is how long pods tolerate a not-ready or unreachable node.
	DefaultTolerationSeconds int64 = 300

	defaultFileMode int32 = 0o644
)

// SetDefaultsPodSpec applies the defaults Kubernetes gives every pod spec, in pods and in
// pod templates alike: restartPolicy Always, dnsPolicy ClusterFirst, an empty
// securityContext, terminationGracePeriodSeconds 30, schedulerName default-scheduler, and
// per container terminationMessagePath/Policy, imagePullPolicy, port protocols, probe
// timings; volumes without a source become emptyDir, file modes default to 0644.
func SetDefaultsPodSpec(spec *corev1.PodSpec) {
	if spec.RestartPolicy == "" {
		spec.RestartPolicy = corev1.RestartPolicyAlways
	}
	if spec.DNSPolicy == "" {
		spec.DNSPolicy = corev1.DNSClusterFirst
	}
	if spec.SecurityContext == nil {
		spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	if spec.TerminationGracePeriodSeconds == nil {
		spec.TerminationGracePeriodSeconds = ptr.To(DefaultTerminationGracePeriodSeconds)
	}
	if spec.SchedulerName == "" {
		spec.SchedulerName = DefaultSchedulerName
	}
	if spec.ServiceAccountName == "" && spec.DeprecatedServiceAccount != "" {
		spec.ServiceAccountName = spec.DeprecatedServiceAccount
	}
	for i := range spec.InitContainers {
		SetDefaultsContainer(&spec.InitContainers[i])
	}
	for i := range spec.Containers {
		SetDefaultsContainer(&spec.Containers[i])
	}
	for i := range spec.Volumes {
		setDefaultsVolume(&spec.Volumes[i])
	}
}

// SetDefaultsContainer applies the per-container defaults.
func SetDefaultsContainer(c *corev1.Container) {
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = DefaultTerminationMessagePath
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	}
	if c.ImagePullPolicy == "" {
		c.ImagePullPolicy = DefaultImagePullPolicy(c.Image)
	}
	for i := range c.Ports {
		if c.Ports[i].Protocol == "" {
			c.Ports[i].Protocol = corev1.ProtocolTCP
		}
	}
	for i := range c.Env {
		if vf := c.Env[i].ValueFrom; vf != nil && vf.FieldRef != nil && vf.FieldRef.APIVersion == "" {
			vf.FieldRef.APIVersion = "v1"
		}
	}
	// Requests default to limits for resources that have a limit and no request.
	for name, limit := range c.Resources.Limits {
		if _, ok := c.Resources.Requests[name]; !ok {
			if c.Resources.Requests == nil {
				c.Resources.Requests = corev1.ResourceList{}
			}
			c.Resources.Requests[name] = limit.DeepCopy()
		}
	}
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		setDefaultsProbe(p)
	}
}

// DefaultImagePullPolicy is Always for images tagged ":latest" or without a tag, else
// IfNotPresent (images by digest included).
func DefaultImagePullPolicy(image string) corev1.PullPolicy {
	if strings.Contains(image, "@") {
		return corev1.PullIfNotPresent
	}
	name := image
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	i := strings.LastIndex(name, ":")
	if i < 0 || name[i+1:] == "latest" {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

func setDefaultsProbe(p *corev1.Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	if h := p.HTTPGet; h != nil {
		if h.Path == "" {
			h.Path = "/"
		}
		if h.Scheme == "" {
			h.Scheme = corev1.URISchemeHTTP
		}
	}
}

func setDefaultsVolume(v *corev1.Volume) {
	if len(volumeSources(&v.VolumeSource)) == 0 {
		v.EmptyDir = &corev1.EmptyDirVolumeSource{}
	}
	switch {
	case v.Secret != nil && v.Secret.DefaultMode == nil:
		v.Secret.DefaultMode = ptr.To(defaultFileMode)
	case v.ConfigMap != nil && v.ConfigMap.DefaultMode == nil:
		v.ConfigMap.DefaultMode = ptr.To(defaultFileMode)
	case v.DownwardAPI != nil && v.DownwardAPI.DefaultMode == nil:
		v.DownwardAPI.DefaultMode = ptr.To(defaultFileMode)
	case v.Projected != nil && v.Projected.DefaultMode == nil:
		v.Projected.DefaultMode = ptr.To(defaultFileMode)
	case v.HostPath != nil && v.HostPath.Type == nil:
		v.HostPath.Type = ptr.To(corev1.HostPathUnset)
	}
}

// setDefaultsForNewPod adds what Kubernetes' admission chain adds to a new pod (not to
// templates): enableServiceLinks, priority 0 with PreemptLowerPriority, the default
// service account, and 300 s tolerations for not-ready and unreachable nodes.
func setDefaultsForNewPod(spec *corev1.PodSpec) {
	if spec.EnableServiceLinks == nil {
		spec.EnableServiceLinks = ptr.To(true)
	}
	if spec.Priority == nil {
		spec.Priority = ptr.To(int32(0))
	}
	if spec.PreemptionPolicy == nil {
		spec.PreemptionPolicy = ptr.To(corev1.PreemptLowerPriority)
	}
	if spec.ServiceAccountName == "" {
		spec.ServiceAccountName = DefaultServiceAccountName
	}
	spec.DeprecatedServiceAccount = spec.ServiceAccountName
	for _, key := range []string{corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable} {
		if !toleratesNoExecute(spec.Tolerations, key) {
			spec.Tolerations = append(spec.Tolerations, corev1.Toleration{
				Key:               key,
				Operator:          corev1.TolerationOpExists,
				Effect:            corev1.TaintEffectNoExecute,
				TolerationSeconds: ptr.To(DefaultTolerationSeconds),
			})
		}
	}
}

func toleratesNoExecute(tolerations []corev1.Toleration, key string) bool {
	for _, t := range tolerations {
		if (t.Effect == corev1.TaintEffectNoExecute || t.Effect == "") &&
			(t.Key == key || (t.Key == "" && t.Operator == corev1.TolerationOpExists)) {
			return true
		}
	}
	return false
}
