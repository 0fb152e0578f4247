package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/utils/clock"

	"github.com/kjet-dev/kjet/internal/apiserver/internal/workerpool"
	"github.com/kjet-dev/kjet/internal/registry"
	"github.com/kjet-dev/kjet/internal/storage"
)

// Options configures a Server.
type Options struct {
	// Storage keeps every object. Required.
	Storage storage.Interface
	// Resources are the resources served. Namespaces must be among them for namespace
	// checks, Bootstrap and namespace deletion.
	Resources []registry.Resource
	// Clock gives the time (creationTimestamp, deletionTimestamp, table ages, watch
	// timeouts, bookmarks); nil means the real clock.
	Clock clock.Clock
	// Pods serves pods/log, exec, attach and portforward; nil makes them answer 503.
	Pods PodConnector
	// OpenAPI, when set, is mounted at /openapi/v2 and /openapi/v3 (and below); nil
	// makes /openapi/* answer 404.
	OpenAPI http.Handler
	// Version is served at /version.
	Version version.Info
	// BookmarkInterval is how often a watch with allowWatchBookmarks=true gets a
	// BOOKMARK event. Default 10s.
	BookmarkInterval time.Duration
	// NamespaceResyncInterval is how often Run looks at terminating namespaces even
	// when nothing prompted it. Default 2s.
	NamespaceResyncInterval time.Duration
	// DisableManagedFields turns off managedFields tracking on non-apply writes (faster
	// writes; server-side apply still records its own manager). Default false.
	DisableManagedFields bool
	// EventTTL is how long Run keeps an event (core or events.k8s.io) after its last
	// write, like kube-apiserver's --event-ttl. Default DefaultEventTTL; negative keeps
	// events for good.
	EventTTL time.Duration
}

// DefaultEventTTL is Options.EventTTL's default, kube-apiserver's.
const DefaultEventTTL = time.Hour

// PodConnector serves a pod's streaming subresources ("log", "exec", "attach",
// "portforward"); the API server has already read the pod (so 404s are handled by it).
type PodConnector interface {
	ServePodSubresource(w http.ResponseWriter, r *http.Request, pod *corev1.Pod, subresource string)
}

// Server serves the Kubernetes API over a store. Create it with New.
type Server struct {
	opts   Options
	clock  clock.Clock
	store  storage.Interface
	codecs *codecs

	// byGroupVersion maps "group/version" ("v1" for core) to its resources by plural
	// name. Immutable after New.
	byGroupVersion map[string]map[string]*resource
	// groupVersions lists served group versions in discovery order (core first).
	groupVersions []schema.GroupVersion
	// namespaces is the namespaces resource, nil if not served.
	namespaces *resource
	// serviceAccounts is the serviceaccounts resource, nil if not served.
	serviceAccounts *resource

	// writers serves write requests on goroutines whose stacks have grown (Run starts
	// them; until then writes are served inline).
	writers *workerpool.Pool

	// namespaceDeleted prompts Run to finalize terminating namespaces.
	namespaceDeleted chan struct{}
	// stopping is closed when Run returns; open watches end then, so that an
	// http.Server.Shutdown after Run does not wait for them.
	stopping     chan struct{}
	stoppingOnce sync.Once

	// typeConverter is built on first use, from the pre-parsed schema in typeschema
	// (~1 ms; client-go's own YAML would cost ~100 ms); Run warms it up, with every
	// resource's field managers, in the background.
	typeConverterOnce sync.Once
	typeConverter     managedfields.TypeConverter

	// watchEvents are the decoded values of recent storage events, shared by every
	// watch so that each change is decoded and encoded once, not once per watch.
	watchEvents *watchEventCache
}

// resource is a registry.Resource plus what the server derives from it once.
type resource struct {
	registry.Resource
	gvk       schema.GroupVersionKind
	listGVK   schema.GroupVersionKind
	gr        schema.GroupResource
	keyPrefix string // "/registry/<group or core>/<resource>/"
	// hasSpec: objects of this kind have a spec, so metadata.generation counts its
	// changes (starting at 1); kinds without one (ConfigMap, Secret) carry no generation.
	hasSpec bool
	// fieldLabels are the field-selector fields AttrsFunc reports.
	fieldLabels sets.Set[string]
	table       registry.TableConvertor
	// managersOnce guards fieldManager and statusFieldManager, which track
	// managedFields and are built on first use; nil if the type is unknown to the type
	// converter. Read them through Server.fieldManagers.
	managersOnce       sync.Once
	fieldManager       *managedfields.FieldManager
	statusFieldManager *managedfields.FieldManager
}

// New builds a Server from opts.
func New(opts Options) (*Server, error) {
	if opts.Storage == nil {
		return nil, fmt.Errorf("apiserver: Options.Storage is required")
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.BookmarkInterval <= 0 {
		opts.BookmarkInterval = 10 * time.Second
	}
	if opts.NamespaceResyncInterval <= 0 {
		opts.NamespaceResyncInterval = 2 * time.Second
	}
	if opts.EventTTL == 0 {
		opts.EventTTL = DefaultEventTTL
	}
	c, err := newCodecs()
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:             opts,
		clock:            opts.Clock,
		store:            opts.Storage,
		codecs:           c,
		byGroupVersion:   map[string]map[string]*resource{},
		namespaceDeleted: make(chan struct{}, 1),
		writers:          workerpool.New(),
		stopping:         make(chan struct{}),
		watchEvents:      newWatchEventCache(watchEventCacheEntries, watchEventCacheBytes),
	}
	for i := range opts.Resources {
		res, err := s.newResource(opts.Resources[i])
		if err != nil {
			return nil, err
		}
		gv := res.gvk.GroupVersion().String()
		if s.byGroupVersion[gv] == nil {
			s.byGroupVersion[gv] = map[string]*resource{}
			s.groupVersions = append(s.groupVersions, res.gvk.GroupVersion())
		}
		if _, dup := s.byGroupVersion[gv][res.GroupVersionResource.Resource]; dup {
			return nil, fmt.Errorf("apiserver: resource %s served twice", res.GroupVersionResource)
		}
		s.byGroupVersion[gv][res.GroupVersionResource.Resource] = res
		switch res.GroupVersionResource {
		case corev1.SchemeGroupVersion.WithResource("namespaces"):
			s.namespaces = res
		case corev1.SchemeGroupVersion.WithResource("serviceaccounts"):
			s.serviceAccounts = res
		}
	}
	sort.SliceStable(s.groupVersions, func(i, j int) bool {
		return s.groupVersions[i].Group == "" && s.groupVersions[j].Group != ""
	})
	return s, nil
}

func (s *Server) newResource(r registry.Resource) (*resource, error) {
	gvr := r.GroupVersionResource
	if gvr.Resource == "" || gvr.Version == "" || r.Kind == "" || r.New == nil || r.NewList == nil || r.Strategy == nil {
		return nil, fmt.Errorf("apiserver: resource %s: GroupVersionResource, Kind, New, NewList and Strategy are required", gvr)
	}
	group := gvr.Group
	if group == "" {
		group = "core"
	}
	res := &resource{
		Resource:  r,
		gvk:       gvr.GroupVersion().WithKind(r.Kind),
		listGVK:   gvr.GroupVersion().WithKind(r.Kind + "List"),
		gr:        gvr.GroupResource(),
		keyPrefix: "/registry/" + group + "/" + gvr.Resource + "/",
		table:     r.Table,
		hasSpec:   reflect.Indirect(reflect.ValueOf(r.New())).FieldByName("Spec").IsValid(),
	}
	if res.table == nil {
		res.table = defaultTable{}
	}
	_, fieldSet, err := r.Strategy.AttrsFunc(r.New())
	if err != nil {
		return nil, fmt.Errorf("apiserver: resource %s: field attributes of an empty object: %w", gvr, err)
	}
	res.fieldLabels = sets.New[string]("metadata.name")
	if r.Namespaced {
		res.fieldLabels.Insert("metadata.namespace")
	}
	for f := range fieldSet {
		res.fieldLabels.Insert(f)
	}
	return res, nil
}

// fieldManagers returns res's field managers for spec writes and for status writes,
// building them (and the shared type converter) on first use. Resources whose type the
// converter does not know go without managedFields (nil managers).
func (s *Server) fieldManagers(res *resource) (spec, status *managedfields.FieldManager) {
	res.managersOnce.Do(func() {
		s.typeConverterOnce.Do(func() { s.typeConverter = newTypeConverter(s.codecs.scheme) })
		scheme := s.codecs.scheme
		if fm, err := managedfields.NewDefaultFieldManager(s.typeConverter, scheme, scheme, scheme, res.gvk, res.gvk.GroupVersion(), "", nil); err == nil {
			res.fieldManager = fm
		}
		if res.Status != nil {
			if fm, err := managedfields.NewDefaultFieldManager(s.typeConverter, scheme, scheme, scheme, res.gvk, res.gvk.GroupVersion(), "status", nil); err == nil {
				res.statusFieldManager = fm
			}
		}
	})
	return res.fieldManager, res.statusFieldManager
}

// warmFieldManagers builds every resource's field managers, so the first writes after
// start-up do not pay for it.
func (s *Server) warmFieldManagers(ctx context.Context) {
	for _, byName := range s.byGroupVersion {
		for _, res := range byName {
			if ctx.Err() != nil {
				return
			}
			s.fieldManagers(res)
		}
	}
}

// key is the storage key of an object of res.
func (res *resource) key(namespace, name string) string {
	if res.Namespaced {
		return res.keyPrefix + namespace + "/" + name
	}
	return res.keyPrefix + name
}

// collectionPrefix is the storage prefix listing res in namespace ("" = all).
func (res *resource) collectionPrefix(namespace string) string {
	if res.Namespaced && namespace != "" {
		return res.keyPrefix + namespace + "/"
	}
	return res.keyPrefix
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

// writeWorkers is how many long-lived goroutines serve writes (see workerpool): about
// as many writes as run at once on a small machine; more at once are served on their
// own goroutines.
const writeWorkers = 8

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.writeError(w, r, apierrors.NewInternalError(fmt.Errorf("panic serving %s %s: %v", r.Method, r.URL.Path, p)))
		}
	}()
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case path == "/version":
		s.serveVersion(w, r)
	case path == "/healthz" || path == "/livez" || path == "/readyz":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok"))
	case path == "/openapi/v2" || path == "/openapi/v3" || strings.HasPrefix(path, "/openapi/v3/"):
		if s.opts.OpenAPI == nil {
			s.writeNotFoundPath(w, r)
			return
		}
		s.opts.OpenAPI.ServeHTTP(w, r)
	case path == "/api":
		s.serveCoreVersions(w, r)
	case path == "/apis":
		s.serveGroupList(w, r)
	case strings.HasPrefix(path, "/api/"):
		s.serveAPIPath(w, r, "", strings.Split(strings.TrimPrefix(path, "/api/"), "/"))
	case strings.HasPrefix(path, "/apis/"):
		parts := strings.Split(strings.TrimPrefix(path, "/apis/"), "/")
		if len(parts) == 1 {
			s.serveGroup(w, r, parts[0])
			return
		}
		s.serveAPIPath(w, r, parts[0], parts[1:])
	default:
		s.writeNotFoundPath(w, r)
	}
}

// writeNotFoundPath answers an unknown path like the apiserver.
func (s *Server) writeNotFoundPath(w http.ResponseWriter, r *http.Request) {
	st := &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure,
		Message:  "the server could not find the requested resource",
		Reason:   metav1.StatusReasonNotFound,
		Details:  &metav1.StatusDetails{},
		Code:     http.StatusNotFound,
	}
	s.writeObject(w, r, http.StatusNotFound, st, mediaJSON)
}

// apiRequest is a parsed resource URL.
type apiRequest struct {
	res         *resource
	namespace   string
	name        string
	subresource string
	// watchPath is set for the legacy /watch/ URLs.
	watchPath bool
}

// serveAPIPath routes /api/<v>/... and /apis/<g>/<v>/...; parts starts at the version.
func (s *Server) serveAPIPath(w http.ResponseWriter, r *http.Request, group string, parts []string) {
	version := parts[0]
	gv := schema.GroupVersion{Group: group, Version: version}
	resources, ok := s.byGroupVersion[gv.String()]
	if !ok {
		s.writeNotFoundPath(w, r)
		return
	}
	parts = parts[1:]
	if len(parts) == 0 {
		s.serveResourceList(w, r, gv)
		return
	}
	req := apiRequest{}
	if parts[0] == "watch" {
		req.watchPath = true
		parts = parts[1:]
		if len(parts) == 0 {
			s.writeNotFoundPath(w, r)
			return
		}
	}
	if parts[0] == "namespaces" && len(parts) > 2 && parts[2] != "status" && parts[2] != "finalize" {
		req.namespace = parts[1]
		parts = parts[2:]
	}
	if len(parts) > 3 || parts[0] == "" {
		s.writeNotFoundPath(w, r)
		return
	}
	res, ok := resources[parts[0]]
	if !ok {
		s.writeNotFoundPath(w, r)
		return
	}
	req.res = res
	if len(parts) > 1 {
		req.name = parts[1]
	}
	if len(parts) > 2 {
		req.subresource = parts[2]
	}
	if res.Namespaced && req.namespace == "" && req.name != "" {
		s.writeNotFoundPath(w, r)
		return
	}
	if !res.Namespaced && req.namespace != "" {
		s.writeNotFoundPath(w, r)
		return
	}
	s.serveResource(w, r, req)
}

// serveResource dispatches a resource request by method and subresource.
func (s *Server) serveResource(w http.ResponseWriter, r *http.Request, req apiRequest) {
	q := r.URL.Query()
	isWatch := req.watchPath || q.Get("watch") == "true" || q.Get("watch") == "1"
	if req.res.Namespaced && req.namespace == "" && r.Method != http.MethodGet {
		// Across all namespaces only list and watch are served.
		s.writeError(w, r, apierrors.NewMethodNotSupported(req.res.gr, strings.ToLower(r.Method)))
		return
	}
	switch req.subresource {
	case "":
	case "status":
		if req.res.Status == nil {
			s.writeNotFoundPath(w, r)
			return
		}
	case "scale":
		if !hasScale(req.res) || req.name == "" {
			s.writeNotFoundPath(w, r)
			return
		}
		s.serveScale(w, r, req)
		return
	case "binding", "eviction", "log", "exec", "attach", "portforward":
		if req.res.GroupVersionResource != corev1.SchemeGroupVersion.WithResource("pods") {
			s.writeNotFoundPath(w, r)
			return
		}
		s.servePodSubresource(w, r, req)
		return
	default:
		s.writeNotFoundPath(w, r)
		return
	}
	if r.Method == http.MethodGet {
		switch {
		case isWatch:
			s.serveWatch(w, r, req)
		case req.name == "":
			s.serveList(w, r, req)
		default:
			s.serveGet(w, r, req)
		}
		return
	}
	// Writes go deep (decoding, defaulting, managedFields, encoding): they run where
	// the stack has already grown.
	s.writers.Do(func() { s.serveWrite(w, r, req) })
}

// serveWrite serves a create, update, patch or delete of a resource or its status.
func (s *Server) serveWrite(w http.ResponseWriter, r *http.Request, req apiRequest) {
	switch r.Method {
	case http.MethodPost:
		if req.name != "" {
			s.writeError(w, r, apierrors.NewMethodNotSupported(req.res.gr, "create"))
			return
		}
		s.serveCreate(w, r, req)
	case http.MethodPut:
		if req.name == "" {
			s.writeError(w, r, apierrors.NewMethodNotSupported(req.res.gr, "update"))
			return
		}
		s.serveUpdate(w, r, req)
	case http.MethodPatch:
		if req.name == "" {
			s.writeError(w, r, apierrors.NewMethodNotSupported(req.res.gr, "patch"))
			return
		}
		s.servePatch(w, r, req)
	case http.MethodDelete:
		if req.subresource != "" {
			s.writeError(w, r, apierrors.NewMethodNotSupported(req.res.gr, "delete"))
			return
		}
		if req.name == "" {
			s.serveDeleteCollection(w, r, req)
			return
		}
		s.serveDelete(w, r, req)
	default:
		s.writeError(w, r, apierrors.NewMethodNotSupported(req.res.gr, strings.ToLower(r.Method)))
	}
}

// fieldManagerName is the manager recorded in managedFields: the fieldManager query
// parameter, else the User-Agent's product, like the apiserver.
func fieldManagerName(r *http.Request) string {
	if m := r.URL.Query().Get("fieldManager"); m != "" {
		return m
	}
	ua := r.Header.Get("User-Agent")
	name := strings.Split(ua, "/")[0]
	if len(name) > 128 {
		name = name[:128]
	}
	if name == "" {
		name = "unknown"
	}
	return name
}

// isDryRun reports dryRun=All.
func isDryRun(r *http.Request) bool {
	for _, v := range r.URL.Query()["dryRun"] {
		if v == metav1.DryRunAll {
			return true
		}
	}
	return false
}
