// Package catalog lists every resource kjet serves, assembling each one's names, scope,
// types and rules from the per-resource packages of internal/registry.
package catalog

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kjet-dev/kjet/internal/registry"
	"github.com/kjet-dev/kjet/internal/registry/apps"
	"github.com/kjet-dev/kjet/internal/registry/coordination"
	"github.com/kjet-dev/kjet/internal/registry/core"
	"github.com/kjet-dev/kjet/internal/registry/cronjob"
	"github.com/kjet-dev/kjet/internal/registry/job"
	"github.com/kjet-dev/kjet/internal/registry/pod"
)

// categoryAll is the category `kubectl get all` lists.
const categoryAll = "all"

// Resources returns every resource kjet serves, in discovery order (core group first).
func Resources() []registry.Resource {
	core1 := func(resource string) schema.GroupVersionResource {
		return corev1.SchemeGroupVersion.WithResource(resource)
	}
	apps1 := func(resource string) schema.GroupVersionResource {
		return appsv1.SchemeGroupVersion.WithResource(resource)
	}
	resources := []registry.Resource{
		{
			GroupVersionResource: core1("pods"), Kind: "Pod", SingularName: "pod",
			ShortNames: []string{"po"}, Categories: []string{categoryAll}, Namespaced: true,
			New: func() runtime.Object { return &corev1.Pod{} }, NewList: func() runtime.Object { return &corev1.PodList{} },
			Strategy: pod.Strategy{}, Status: pod.StatusStrategy{}, Table: pod.Table{},
			GracefulDelete: pod.GracePeriod,
		},
		{
			GroupVersionResource: core1("namespaces"), Kind: "Namespace", SingularName: "namespace",
			ShortNames: []string{"ns"},
			New:        func() runtime.Object { return &corev1.Namespace{} }, NewList: func() runtime.Object { return &corev1.NamespaceList{} },
			Strategy: core.NamespaceStrategy(), Status: core.NamespaceStatus(), Table: core.NamespaceTable{},
		},
		{
			GroupVersionResource: core1("nodes"), Kind: "Node", SingularName: "node",
			ShortNames: []string{"no"},
			New:        func() runtime.Object { return &corev1.Node{} }, NewList: func() runtime.Object { return &corev1.NodeList{} },
			Strategy: core.NodeStrategy(), Status: core.NodeStatus(), Table: core.NodeTable{},
		},
		{
			GroupVersionResource: core1("configmaps"), Kind: "ConfigMap", SingularName: "configmap",
			ShortNames: []string{"cm"}, Namespaced: true,
			New: func() runtime.Object { return &corev1.ConfigMap{} }, NewList: func() runtime.Object { return &corev1.ConfigMapList{} },
			Strategy: core.ConfigMapStrategy(), Table: core.ConfigMapTable{},
		},
		{
			GroupVersionResource: core1("resourcequotas"), Kind: "ResourceQuota", SingularName: "resourcequota",
			ShortNames: []string{"quota"}, Namespaced: true,
			New: func() runtime.Object { return &corev1.ResourceQuota{} }, NewList: func() runtime.Object { return &corev1.ResourceQuotaList{} },
			Strategy: core.ResourceQuotaStrategy(), Table: core.ResourceQuotaTable{},
		},
		{
			GroupVersionResource: core1("limitranges"), Kind: "LimitRange", SingularName: "limitrange",
			ShortNames: []string{"limits"}, Namespaced: true,
			New: func() runtime.Object { return &corev1.LimitRange{} }, NewList: func() runtime.Object { return &corev1.LimitRangeList{} },
			Strategy: core.LimitRangeStrategy(), Table: core.LimitRangeTable{},
		},
		{
			GroupVersionResource: core1("secrets"), Kind: "Secret", SingularName: "secret", Namespaced: true,
			New: func() runtime.Object { return &corev1.Secret{} }, NewList: func() runtime.Object { return &corev1.SecretList{} },
			Strategy: core.SecretStrategy(), Table: core.SecretTable{},
		},
		{
			GroupVersionResource: core1("serviceaccounts"), Kind: "ServiceAccount", SingularName: "serviceaccount",
			ShortNames: []string{"sa"}, Namespaced: true,
			New: func() runtime.Object { return &corev1.ServiceAccount{} }, NewList: func() runtime.Object { return &corev1.ServiceAccountList{} },
			Strategy: core.ServiceAccountStrategy(), Table: core.ServiceAccountTable{},
		},
		{
			GroupVersionResource: core1("services"), Kind: "Service", SingularName: "service",
			ShortNames: []string{"svc"}, Categories: []string{categoryAll}, Namespaced: true,
			New: func() runtime.Object { return &corev1.Service{} }, NewList: func() runtime.Object { return &corev1.ServiceList{} },
			Strategy: core.ServiceStrategy(), Table: core.ServiceTable{},
		},
		{
			GroupVersionResource: core1("events"), Kind: "Event", SingularName: "event",
			ShortNames: []string{"ev"}, Namespaced: true,
			New: func() runtime.Object { return &corev1.Event{} }, NewList: func() runtime.Object { return &corev1.EventList{} },
			Strategy: core.EventStrategy(), Table: core.EventTable{},
		},
		{
			GroupVersionResource: core1("replicationcontrollers"), Kind: "ReplicationController", SingularName: "replicationcontroller",
			ShortNames: []string{"rc"}, Categories: []string{categoryAll}, Namespaced: true,
			New: func() runtime.Object { return &corev1.ReplicationController{} }, NewList: func() runtime.Object { return &corev1.ReplicationControllerList{} },
			Strategy: core.ReplicationControllerStrategy(), Status: core.ReplicationControllerStatus(), Table: core.ReplicationControllerTable{},
			Scale: core.ReplicationControllerScale(),
		},
		{
			GroupVersionResource: apps1("deployments"), Kind: "Deployment", SingularName: "deployment",
			ShortNames: []string{"deploy"}, Categories: []string{categoryAll}, Namespaced: true,
			New: func() runtime.Object { return &appsv1.Deployment{} }, NewList: func() runtime.Object { return &appsv1.DeploymentList{} },
			Strategy: apps.DeploymentStrategy(), Status: apps.DeploymentStatus(), Table: apps.DeploymentTable{},
			Scale: apps.DeploymentScale(),
		},
		{
			GroupVersionResource: apps1("replicasets"), Kind: "ReplicaSet", SingularName: "replicaset",
			ShortNames: []string{"rs"}, Categories: []string{categoryAll}, Namespaced: true,
			New: func() runtime.Object { return &appsv1.ReplicaSet{} }, NewList: func() runtime.Object { return &appsv1.ReplicaSetList{} },
			Strategy: apps.ReplicaSetStrategy(), Status: apps.ReplicaSetStatus(), Table: apps.ReplicaSetTable{},
			Scale: apps.ReplicaSetScale(),
		},
		{
			GroupVersionResource: apps1("daemonsets"), Kind: "DaemonSet", SingularName: "daemonset",
			ShortNames: []string{"ds"}, Categories: []string{categoryAll}, Namespaced: true,
			New: func() runtime.Object { return &appsv1.DaemonSet{} }, NewList: func() runtime.Object { return &appsv1.DaemonSetList{} },
			Strategy: apps.DaemonSetStrategy(), Status: apps.DaemonSetStatus(), Table: apps.DaemonSetTable{},
		},
		{
			GroupVersionResource: batchv1.SchemeGroupVersion.WithResource("jobs"), Kind: "Job", SingularName: "job",
			Categories: []string{categoryAll}, Namespaced: true,
			New: func() runtime.Object { return &batchv1.Job{} }, NewList: func() runtime.Object { return &batchv1.JobList{} },
			Strategy: job.Strategy{}, Status: job.StatusStrategy{}, Table: job.Table{},
			DefaultPropagation: metav1.DeletePropagationOrphan, DeleteWarning: job.DeleteWarning,
		},
		{
			GroupVersionResource: batchv1.SchemeGroupVersion.WithResource("cronjobs"), Kind: "CronJob", SingularName: "cronjob",
			ShortNames: []string{"cj"}, Categories: []string{categoryAll}, Namespaced: true,
			New: func() runtime.Object { return &batchv1.CronJob{} }, NewList: func() runtime.Object { return &batchv1.CronJobList{} },
			Strategy: cronjob.Strategy{}, Status: cronjob.StatusStrategy{}, Table: cronjob.Table{},
		},
		{
			GroupVersionResource: coordinationv1.SchemeGroupVersion.WithResource("leases"), Kind: "Lease", SingularName: "lease",
			Namespaced: true,
			New:        func() runtime.Object { return &coordinationv1.Lease{} }, NewList: func() runtime.Object { return &coordinationv1.LeaseList{} },
			Strategy: coordination.LeaseStrategy(), Table: coordination.LeaseTable{},
		},
		{
			GroupVersionResource: eventsv1.SchemeGroupVersion.WithResource("events"), Kind: "Event", SingularName: "event",
			ShortNames: []string{"ev"}, Namespaced: true,
			New: func() runtime.Object { return &eventsv1.Event{} }, NewList: func() runtime.Object { return &eventsv1.EventList{} },
			Strategy: core.EventsV1Strategy(), Table: core.EventTable{},
		},
	}
	for i := range resources {
		if resources[i].DefaultPropagation == "" {
			resources[i].DefaultPropagation = metav1.DeletePropagationBackground
		}
	}
	return resources
}
