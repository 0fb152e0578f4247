package apiserver

import (
	"context"
	"errors"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2"

	"github.com/kjet-dev/kjet/internal/storage"
)

// systemManager is the field manager of the server's own writes.
const systemManager = "kjet-apiserver"

// bootstrapNamespaces exist on every server.
var bootstrapNamespaces = []string{metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic, corev1.NamespaceNodeLease}

// Bootstrap creates the namespaces default, kube-system, kube-public and
// kube-node-lease and a "default" ServiceAccount in each if missing. It is idempotent,
// and on a store that has them already it only reads them: a create would build the
// field managers first, which is start-up time spent on nothing.
func (s *Server) Bootstrap(ctx context.Context) error {
	if s.namespaces == nil {
		return errors.New("apiserver: bootstrap needs the namespaces resource")
	}
	for _, name := range bootstrapNamespaces {
		obj, err := s.ensureObject(ctx, s.namespaces, "", name)
		if err != nil {
			return fmt.Errorf("creating namespace %s: %w", name, err)
		}
		if err := s.ensureDefaultServiceAccount(ctx, obj); err != nil {
			return err
		}
	}
	return nil
}

// ensureObject returns the object name of res in namespace, creating an empty one as
// the server's own manager if it does not exist.
func (s *Server) ensureObject(ctx context.Context, res *resource, namespace, name string) (runtime.Object, error) {
	obj, _, err := s.readObject(ctx, res, namespace, name)
	if !apierrors.IsNotFound(err) {
		return obj, err
	}
	obj = res.New()
	accessor, err := metaAccessor(obj)
	if err != nil {
		return nil, err
	}
	accessor.SetName(name)
	accessor.SetNamespace(namespace)
	obj, _, err = s.createObject(ctx, res, namespace, obj, writeOptions{manager: systemManager})
	if apierrors.IsAlreadyExists(err) {
		obj, _, err = s.readObject(ctx, res, namespace, name)
	}
	return obj, err
}

// ensureDefaultServiceAccount creates the "default" ServiceAccount of a namespace
// (the service account controller's job in Kubernetes).
func (s *Server) ensureDefaultServiceAccount(ctx context.Context, namespace runtime.Object) error {
	if s.serviceAccounts == nil {
		return nil
	}
	ns, err := metaAccessor(namespace)
	if err != nil {
		return err
	}
	if ns.GetDeletionTimestamp() != nil {
		return nil
	}
	if _, err := s.ensureObject(ctx, s.serviceAccounts, ns.GetName(), "default"); err != nil {
		return fmt.Errorf("creating the default service account of namespace %s: %w", ns.GetName(), err)
	}
	return nil
}

// promptNamespaceFinalization wakes Run after a namespace was marked for deletion.
func (s *Server) promptNamespaceFinalization() {
	select {
	case s.namespaceDeleted <- struct{}{}:
	default:
	}
}

// Run does the server's background work until ctx ends: it empties terminating
// namespaces and then removes them, and deletes events Options.EventTTL after their
// last write. When it returns, open watches end.
func (s *Server) Run(ctx context.Context) error {
	defer s.stoppingOnce.Do(func() { close(s.stopping) })
	// The rest of the background work runs beside the namespace loop; Run returns
	// once all of it has.
	var background sync.WaitGroup
	defer background.Wait()
	background.Go(func() { s.warmFieldManagers(ctx) })
	background.Go(func() { s.writers.Run(ctx, writeWorkers) })
	if expirer := s.eventExpirer(); expirer != nil {
		background.Go(func() { expirer.Run(ctx) })
	}
	logger := klog.FromContext(ctx)
	if s.namespaces == nil {
		<-ctx.Done()
		return nil
	}
	timer := s.clock.NewTimer(s.opts.NamespaceResyncInterval)
	defer timer.Stop()
	for {
		if err := s.finalizeNamespaces(ctx); err != nil && ctx.Err() == nil {
			logger.Error(err, "Finalizing terminating namespaces; will retry")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.namespaceDeleted:
		case <-timer.C():
			timer.Reset(s.opts.NamespaceResyncInterval)
		}
	}
}

// finalizeNamespaces deletes the content of every terminating namespace and removes
// the namespaces that are empty.
func (s *Server) finalizeNamespaces(ctx context.Context) error {
	everything := selectors{label: labels.Everything(), field: fields.Everything()}
	namespaces, _, err := s.listAll(ctx, s.namespaces, "", everything)
	if err != nil {
		return fmt.Errorf("listing namespaces: %w", err)
	}
	var errs []error
	for _, obj := range namespaces {
		ns, err := metaAccessor(obj)
		if err != nil {
			return err
		}
		if ns.GetDeletionTimestamp() == nil {
			continue
		}
		empty, err := s.deleteNamespaceContent(ctx, ns.GetName())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !empty || len(ns.GetFinalizers()) > 0 {
			continue
		}
		rev, err := resourceVersionOf(ns)
		if err != nil {
			return err
		}
		_, err = s.store.Delete(ctx, s.namespaces.key("", ns.GetName()), rev)
		if err != nil && !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, storage.ErrConflict) {
			errs = append(errs, fmt.Errorf("removing namespace %s: %w", ns.GetName(), err))
		}
	}
	return errors.Join(errs...)
}

// deleteNamespaceContent deletes every object in namespace and reports whether the
// namespace is now empty (objects held by finalizers or grace periods remain).
func (s *Server) deleteNamespaceContent(ctx context.Context, namespace string) (bool, error) {
	everything := selectors{label: labels.Everything(), field: fields.Everything()}
	background := metav1.DeletePropagationBackground
	empty := true
	for _, gv := range s.groupVersions {
		for _, res := range s.sortedResources(gv) {
			if !res.Namespaced {
				continue
			}
			items, _, err := s.listAll(ctx, res, namespace, everything)
			if err != nil {
				return false, fmt.Errorf("listing %s in namespace %s: %w", res.gr, namespace, err)
			}
			for _, item := range items {
				accessor, err := metaAccessor(item)
				if err != nil {
					return false, err
				}
				if accessor.GetDeletionTimestamp() != nil {
					empty = false
					continue
				}
				result, err := s.deleteObject(ctx, res, namespace, accessor.GetName(), &metav1.DeleteOptions{PropagationPolicy: &background})
				switch {
				case apierrors.IsNotFound(err):
				case apierrors.IsConflict(err):
					empty = false
				case err != nil:
					return false, fmt.Errorf("deleting %s %s/%s: %w", res.gr, namespace, accessor.GetName(), err)
				case !result.deleted:
					empty = false
				}
			}
		}
	}
	return empty, nil
}

func resourceVersionOf(obj metav1.Object) (int64, error) {
	var rev int64
	if _, err := fmt.Sscan(obj.GetResourceVersion(), &rev); err != nil {
		return 0, fmt.Errorf("resourceVersion %q of %s: %w", obj.GetResourceVersion(), obj.GetName(), err)
	}
	return rev, nil
}
