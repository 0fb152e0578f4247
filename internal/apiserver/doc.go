// Package apiserver is kjet's HTTP layer: it serves the Kubernetes REST conventions
// (/api, /apis, discovery, CRUD, list, watch, patch, server-side apply, tables, delete
// with propagation and finalizers, namespace lifecycle, pod and scale subresources)
// generically over a storage.Interface for every registry.Resource.
//
// Objects are the versioned types of k8s.io/api. They are stored as Kubernetes
// protobuf (as kube-apiserver stores built-in types in etcd; JSON values written by
// older kjet versions are still read) under
// "/registry/<group or core>/<resource>/[<namespace>/]<name>"; an object's
// resourceVersion is its storage ModRevision and is never stored, only set on the way
// out. Reads decode from storage; watches share one decoding and one encoding per media
// type of each recent event (eventcache.go), so N informers on pods cost one decode.
//
// Wiring (what a server's main does):
//
//	srv, err := apiserver.New(apiserver.Options{Storage: store, Resources: catalog.Resources(), ...})
//	err = srv.Bootstrap(ctx)      // default namespaces and service accounts
//	go srv.Run(ctx)               // namespace finalization; open watches end when it returns
//	http.Server{Handler: auth(srv.Handler())}
//
// The package serves plain HTTP handlers; TLS, authentication and OpenAPI documents are
// wired around it by the caller (see Options).
package apiserver
