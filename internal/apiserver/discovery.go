package apiserver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Verbs advertised in discovery.
var (
	collectionVerbs  = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
	statusVerbs      = []string{"get", "patch", "update"}
	connectVerbs     = []string{"create", "get"}
	aggregatedMedia  = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
	podsGVR          = corev1.SchemeGroupVersion.WithResource("pods")
	evictionGVK      = schema.GroupVersionKind{Group: "policy", Version: "v1", Kind: "Eviction"}
	discoveryVersion = "v1"
)

// subresourceInfo is one advertised subresource of a resource.
type subresourceInfo struct {
	name  string
	kind  schema.GroupVersionKind
	verbs []string
}

// subresourcesOf lists the subresources res serves.
func subresourcesOf(res *resource) []subresourceInfo {
	var subs []subresourceInfo
	if res.GroupVersionResource == podsGVR {
		v1 := corev1.SchemeGroupVersion
		subs = append(subs,
			subresourceInfo{"attach", v1.WithKind("PodAttachOptions"), connectVerbs},
			subresourceInfo{"binding", v1.WithKind("Binding"), []string{"create"}},
			subresourceInfo{"eviction", evictionGVK, []string{"create"}},
			subresourceInfo{"exec", v1.WithKind("PodExecOptions"), connectVerbs},
			subresourceInfo{"log", v1.WithKind("Pod"), []string{"get"}},
			subresourceInfo{"portforward", v1.WithKind("PodPortForwardOptions"), connectVerbs},
		)
	}
	if res.Status != nil {
		subs = append(subs, subresourceInfo{"status", res.gvk, statusVerbs})
	}
	if hasScale(res) {
		subs = append(subs, subresourceInfo{"scale", scaleGVK, statusVerbs})
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].name < subs[j].name })
	return subs
}

// sortedResources returns a group version's resources by name.
func (s *Server) sortedResources(gv schema.GroupVersion) []*resource {
	var out []*resource
	for _, res := range s.byGroupVersion[gv.String()] {
		out = append(out, res)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].GroupVersionResource.Resource < out[j].GroupVersionResource.Resource
	})
	return out
}

func (s *Server) serveVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, r, http.StatusOK, s.opts.Version)
}

// writeJSON writes a value that is not a runtime.Object.
func writeJSON(w http.ResponseWriter, r *http.Request, code int, v interface{}) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	if isPretty(r) {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", mediaJSON)
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) serveCoreVersions(w http.ResponseWriter, r *http.Request) {
	if negotiate(r).kind == acceptDiscoveryAggregated {
		list := s.aggregatedDiscovery(true)
		s.writeAggregated(w, r, list)
		return
	}
	versions := &metav1.APIVersions{
		TypeMeta: metav1.TypeMeta{Kind: "APIVersions"},
		ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{
			{ClientCIDR: "0.0.0.0/0", ServerAddress: r.Host},
		},
	}
	if _, ok := s.byGroupVersion[discoveryVersion]; ok {
		versions.Versions = []string{discoveryVersion}
	} else {
		versions.Versions = []string{}
	}
	writeJSON(w, r, http.StatusOK, versions)
}

func (s *Server) apiGroups() []metav1.APIGroup {
	var groups []metav1.APIGroup
	index := map[string]int{}
	for _, gv := range s.groupVersions {
		if gv.Group == "" {
			continue
		}
		i, ok := index[gv.Group]
		if !ok {
			i = len(groups)
			index[gv.Group] = i
			groups = append(groups, metav1.APIGroup{
				Name:             gv.Group,
				PreferredVersion: metav1.GroupVersionForDiscovery{GroupVersion: gv.String(), Version: gv.Version},
			})
		}
		groups[i].Versions = append(groups[i].Versions, metav1.GroupVersionForDiscovery{GroupVersion: gv.String(), Version: gv.Version})
	}
	return groups
}

func (s *Server) serveGroupList(w http.ResponseWriter, r *http.Request) {
	if negotiate(r).kind == acceptDiscoveryAggregated {
		s.writeAggregated(w, r, s.aggregatedDiscovery(false))
		return
	}
	groups := s.apiGroups()
	if groups == nil {
		groups = []metav1.APIGroup{}
	}
	writeJSON(w, r, http.StatusOK, &metav1.APIGroupList{
		TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"},
		Groups:   groups,
	})
}

func (s *Server) serveGroup(w http.ResponseWriter, r *http.Request, name string) {
	for _, g := range s.apiGroups() {
		if g.Name == name {
			g.TypeMeta = metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"}
			writeJSON(w, r, http.StatusOK, &g)
			return
		}
	}
	s.writeNotFoundPath(w, r)
}

func (s *Server) serveResourceList(w http.ResponseWriter, r *http.Request, gv schema.GroupVersion) {
	list := &metav1.APIResourceList{
		TypeMeta:     metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
		GroupVersion: gv.String(),
		APIResources: []metav1.APIResource{},
	}
	for _, res := range s.sortedResources(gv) {
		list.APIResources = append(list.APIResources, metav1.APIResource{
			Name:         res.GroupVersionResource.Resource,
			SingularName: res.singular(),
			Namespaced:   res.Namespaced,
			Kind:         res.Kind,
			Verbs:        collectionVerbs,
			ShortNames:   res.ShortNames,
			Categories:   res.Categories,
		})
		for _, sub := range subresourcesOf(res) {
			entry := metav1.APIResource{
				Name:       res.GroupVersionResource.Resource + "/" + sub.name,
				Namespaced: res.Namespaced,
				Kind:       sub.kind.Kind,
				Verbs:      sub.verbs,
			}
			if sub.kind.GroupVersion() != gv {
				entry.Group, entry.Version = sub.kind.Group, sub.kind.Version
			}
			list.APIResources = append(list.APIResources, entry)
		}
	}
	writeJSON(w, r, http.StatusOK, list)
}

func (res *resource) singular() string {
	if res.SingularName != "" {
		return res.SingularName
	}
	return strings.ToLower(res.gvk.Kind)
}

// aggregatedDiscovery builds the apidiscovery.k8s.io/v2 document for the core group
// (core true) or for every named group.
func (s *Server) aggregatedDiscovery(core bool) *apidiscoveryv2.APIGroupDiscoveryList {
	list := &apidiscoveryv2.APIGroupDiscoveryList{
		TypeMeta: metav1.TypeMeta{Kind: "APIGroupDiscoveryList", APIVersion: "apidiscovery.k8s.io/v2"},
		Items:    []apidiscoveryv2.APIGroupDiscovery{},
	}
	index := map[string]int{}
	for _, gv := range s.groupVersions {
		if (gv.Group == "") != core {
			continue
		}
		i, ok := index[gv.Group]
		if !ok {
			i = len(list.Items)
			index[gv.Group] = i
			list.Items = append(list.Items, apidiscoveryv2.APIGroupDiscovery{ObjectMeta: metav1.ObjectMeta{Name: gv.Group}})
		}
		version := apidiscoveryv2.APIVersionDiscovery{Version: gv.Version, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}
		for _, res := range s.sortedResources(gv) {
			scope := apidiscoveryv2.ScopeCluster
			if res.Namespaced {
				scope = apidiscoveryv2.ScopeNamespace
			}
			entry := apidiscoveryv2.APIResourceDiscovery{
				Resource:         res.GroupVersionResource.Resource,
				ResponseKind:     &metav1.GroupVersionKind{Group: res.gvk.Group, Version: res.gvk.Version, Kind: res.gvk.Kind},
				Scope:            scope,
				SingularResource: res.singular(),
				Verbs:            collectionVerbs,
				ShortNames:       res.ShortNames,
				Categories:       res.Categories,
			}
			for _, sub := range subresourcesOf(res) {
				entry.Subresources = append(entry.Subresources, apidiscoveryv2.APISubresourceDiscovery{
					Subresource:  sub.name,
					ResponseKind: &metav1.GroupVersionKind{Group: sub.kind.Group, Version: sub.kind.Version, Kind: sub.kind.Kind},
					Verbs:        sub.verbs,
				})
			}
			version.Resources = append(version.Resources, entry)
		}
		list.Items[i].Versions = append(list.Items[i].Versions, version)
	}
	return list
}

func (s *Server) writeAggregated(w http.ResponseWriter, r *http.Request, list *apidiscoveryv2.APIGroupDiscoveryList) {
	var buf bytes.Buffer
	if err := s.codecs.json.Encode(list, &buf); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", aggregatedMedia)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}
