package apiserver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/klog/v2"

	"github.com/kjet-dev/kjet/internal/storage"
)

// Finalizers the API server adds for delete propagation (the garbage collector
// removes them).
const (
	finalizerOrphan     = metav1.FinalizerOrphanDependents
	finalizerForeground = metav1.FinalizerDeleteDependents
)

// maxGeneratedNameLength is how much of generateName is kept before the random suffix.
const maxGeneratedNameLength = 63 - 5

// maxUpdateAttempts bounds the retries of an unconditional update that keeps losing
// compare-and-swap races.
const maxUpdateAttempts = 16

// writeOptions are the request-level settings of a write.
type writeOptions struct {
	dryRun bool
	// manager is the field manager recorded in managedFields.
	manager string
	// subresource is "" or "status".
	subresource string
	// skipManagedFields: the caller (server-side apply) already set managedFields.
	skipManagedFields bool
	// system marks the server's own writes (binding, eviction, namespace lifecycle):
	// the resource's update rules are not applied, only the system fields kept.
	system bool
}

func metaAccessor(obj runtime.Object) (metav1.Object, error) {
	accessor, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("object %T has no metadata: %w", obj, err))
	}
	return accessor, nil
}

// storageError turns a storage error into an API status error.
func storageError(err error, res *resource, name string) error {
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return apierrors.NewNotFound(res.gr, name)
	case errors.Is(err, storage.ErrKeyExists):
		return apierrors.NewAlreadyExists(res.gr, name)
	case errors.Is(err, storage.ErrConflict):
		return conflictError(res, name)
	case errors.Is(err, storage.ErrCompacted):
		return apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %v", err))
	case errors.Is(err, storage.ErrClosed):
		return apierrors.NewServiceUnavailable("the server is shutting down")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return apierrors.NewTimeoutError(fmt.Sprintf("request for %s %q ended: %v", res.gr, name, err), 0)
	default:
		return apierrors.NewInternalError(fmt.Errorf("storage: %w", err))
	}
}

func conflictError(res *resource, name string) error {
	return apierrors.NewConflict(res.gr, name, errors.New("the object has been modified; please apply your changes to the latest version and try again"))
}

// readObject reads and decodes one object, with its resourceVersion and kind set.
func (s *Server) readObject(ctx context.Context, res *resource, namespace, name string) (runtime.Object, storage.KeyValue, error) {
	kv, err := s.store.Get(ctx, res.key(namespace, name))
	if err != nil {
		return nil, kv, storageError(err, res, name)
	}
	obj, err := s.decodeKV(res, kv.Value, kv.ModRevision)
	return obj, kv, err
}

// decodeKV decodes a stored value of res and stamps rev as its resourceVersion.
func (s *Server) decodeKV(res *resource, value []byte, rev int64) (runtime.Object, error) {
	obj := res.New()
	if err := s.codecs.decodeStorage(value, obj); err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	accessor, err := metaAccessor(obj)
	if err != nil {
		return nil, err
	}
	accessor.SetResourceVersion(strconv.FormatInt(rev, 10))
	obj.GetObjectKind().SetGroupVersionKind(res.gvk)
	return obj, nil
}

// checkNamespaceForCreate returns 404 for a missing namespace and 403 for a
// terminating one.
func (s *Server) checkNamespaceForCreate(ctx context.Context, res *resource, namespace, name string) error {
	if s.namespaces == nil || !res.Namespaced {
		return nil
	}
	obj, _, err := s.readObject(ctx, s.namespaces, "", namespace)
	if apierrors.IsNotFound(err) {
		return apierrors.NewNotFound(s.namespaces.gr, namespace)
	}
	if err != nil {
		return err
	}
	if ns, ok := obj.(*corev1.Namespace); ok && (ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating) {
		err := apierrors.NewForbidden(res.gr, name, fmt.Errorf("unable to create new content in namespace %s because it is being terminated", namespace))
		// Controllers and event recorders look for this cause to stop retrying.
		err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{
			Type:    corev1.NamespaceTerminatingCause,
			Message: fmt.Sprintf("namespace %s is being terminated", namespace),
			Field:   "metadata.namespace",
		})
		return err
	}
	return nil
}

// createObject fills the system fields of obj, runs the resource's create rules and
// stores it. namespace is the request's namespace ("" for cluster-scoped).
func (s *Server) createObject(ctx context.Context, res *resource, namespace string, obj runtime.Object, o writeOptions) (runtime.Object, []string, error) {
	accessor, err := metaAccessor(obj)
	if err != nil {
		return nil, nil, err
	}
	if res.Namespaced {
		switch ns := accessor.GetNamespace(); {
		case ns == "":
			accessor.SetNamespace(namespace)
		case ns != namespace:
			return nil, nil, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
		}
	} else {
		accessor.SetNamespace("")
	}
	if accessor.GetResourceVersion() != "" {
		return nil, nil, apierrors.NewBadRequest("resourceVersion should not be set on objects to be created")
	}
	if accessor.GetName() == "" && accessor.GetGenerateName() == "" {
		return nil, nil, apierrors.NewInvalid(res.gvk.GroupKind(), "", field.ErrorList{
			field.Required(field.NewPath("metadata", "name"), "name or generateName is required"),
		})
	}
	if err := s.checkNamespaceForCreate(ctx, res, namespace, accessor.GetName()); err != nil {
		return nil, nil, err
	}
	generated := accessor.GetName() == ""
	if generated {
		accessor.SetName(generateName(accessor.GetGenerateName()))
	}
	accessor.SetUID(uuid.NewUUID())
	accessor.SetCreationTimestamp(metav1.NewTime(s.clock.Now().UTC().Truncate(1e9)))
	accessor.SetGeneration(0)
	if res.hasSpec {
		accessor.SetGeneration(1)
	}
	accessor.SetDeletionTimestamp(nil)
	accessor.SetDeletionGracePeriodSeconds(nil)
	accessor.SetSelfLink("")
	obj.GetObjectKind().SetGroupVersionKind(res.gvk)

	res.Strategy.PrepareForCreate(ctx, obj)
	errs := validateName(accessor.GetName())
	errs = append(errs, res.Strategy.Validate(ctx, obj)...)
	if len(errs) > 0 {
		return nil, nil, apierrors.NewInvalid(res.gvk.GroupKind(), accessor.GetName(), errs)
	}
	warnings := res.Strategy.WarningsOnCreate(ctx, obj)
	if fieldManager, _ := s.fieldManagers(res); fieldManager != nil && !s.opts.DisableManagedFields && !o.skipManagedFields {
		obj = fieldManager.UpdateNoErrors(res.New(), obj, o.manager)
		if accessor, err = metaAccessor(obj); err != nil {
			return nil, nil, err
		}
	}
	obj.GetObjectKind().SetGroupVersionKind(res.gvk)
	if o.dryRun {
		return obj, warnings, nil
	}
	for attempt := 0; ; attempt++ {
		data, err := s.codecs.encodeStorage(obj, res.gvk)
		if err != nil {
			return nil, nil, apierrors.NewInternalError(err)
		}
		rev, err := s.store.Create(ctx, res.key(accessor.GetNamespace(), accessor.GetName()), data)
		if errors.Is(err, storage.ErrKeyExists) && generated && attempt < 8 {
			accessor.SetName(generateName(accessor.GetGenerateName()))
			continue
		}
		if err != nil {
			return nil, nil, storageError(err, res, accessor.GetName())
		}
		accessor.SetResourceVersion(strconv.FormatInt(rev, 10))
		if res == s.namespaces {
			// Like the service account controller: every namespace gets a "default"
			// one. Best effort: Bootstrap repeats it for the system namespaces.
			if err := s.ensureDefaultServiceAccount(ctx, obj); err != nil {
				klog.FromContext(ctx).Error(err, "Creating the default service account", "namespace", accessor.GetName())
			}
		}
		return obj, warnings, nil
	}
}

func generateName(base string) string {
	if len(base) > maxGeneratedNameLength {
		base = base[:maxGeneratedNameLength]
	}
	return base + rand.String(5)
}

// validateName rejects names that cannot be a storage key segment; the resource's own
// validation checks the rest.
func validateName(name string) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range content.IsPathSegmentName(name) {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), name, msg))
	}
	return errs
}

// updateFunc computes the new object from the current one (a private copy it may
// modify). If the returned object carries a resourceVersion, it is a precondition.
type updateFunc func(current runtime.Object) (runtime.Object, error)

// updateObject reads the object, applies fn, runs the update rules and writes the
// result with compare-and-swap, retrying unconditional updates that lose a race.
func (s *Server) updateObject(ctx context.Context, res *resource, namespace, name string, fn updateFunc, o writeOptions) (runtime.Object, error) {
	for attempt := 0; ; attempt++ {
		current, kv, err := s.readObject(ctx, res, namespace, name)
		if err != nil {
			return nil, err
		}
		obj, err := fn(current.DeepCopyObject())
		if err != nil {
			return nil, err
		}
		accessor, err := metaAccessor(obj)
		if err != nil {
			return nil, err
		}
		conditional := accessor.GetResourceVersion() != ""
		if conditional && accessor.GetResourceVersion() != strconv.FormatInt(kv.ModRevision, 10) {
			return nil, conflictError(res, name)
		}
		obj, err = s.prepareUpdate(ctx, res, obj, current, o)
		if err != nil {
			return nil, err
		}
		accessor, err = metaAccessor(obj)
		if err != nil {
			return nil, err
		}
		data, err := s.codecs.encodeStorage(obj, res.gvk)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		if s.codecs.unchanged(data, kv.Value, current, res.gvk) {
			// Nothing changed: no write, no event, same resourceVersion.
			return current, nil
		}
		if o.dryRun {
			accessor.SetResourceVersion(strconv.FormatInt(kv.ModRevision, 10))
			return obj, nil
		}
		if res != s.namespaces && shouldDeleteDuringUpdate(accessor, current) {
			deleted, err := s.store.Delete(ctx, kv.Key, kv.ModRevision)
			if err == nil {
				accessor.SetResourceVersion(strconv.FormatInt(deleted.ModRevision, 10))
				return obj, nil
			}
			if errors.Is(err, storage.ErrConflict) && !conditional && attempt < maxUpdateAttempts {
				continue
			}
			return nil, storageError(err, res, name)
		}
		rev, err := s.store.Update(ctx, kv.Key, data, kv.ModRevision)
		if err == nil {
			accessor.SetResourceVersion(strconv.FormatInt(rev, 10))
			return obj, nil
		}
		if (errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound)) && !conditional && attempt < maxUpdateAttempts {
			continue
		}
		if errors.Is(err, storage.ErrNotFound) {
			return nil, conflictError(res, name)
		}
		return nil, storageError(err, res, name)
	}
}

// shouldDeleteDuringUpdate: an update that leaves no finalizers on an object being
// deleted deletes it, unless a grace period is pending (a graceful pod stays until its
// node agent deletes it with grace 0). Namespaces are removed only by Run, once empty.
func shouldDeleteDuringUpdate(obj metav1.Object, current runtime.Object) bool {
	if obj.GetDeletionTimestamp() == nil || len(obj.GetFinalizers()) > 0 {
		return false
	}
	old, err := meta.Accessor(current)
	if err != nil || old.GetDeletionTimestamp() == nil {
		return false
	}
	grace := obj.GetDeletionGracePeriodSeconds()
	return grace == nil || *grace == 0
}

// prepareUpdate keeps the system fields of current, runs the resource's (or its
// status') update rules, bumps generation and records managed fields.
func (s *Server) prepareUpdate(ctx context.Context, res *resource, obj, current runtime.Object, o writeOptions) (runtime.Object, error) {
	accessor, err := metaAccessor(obj)
	if err != nil {
		return nil, err
	}
	old, err := metaAccessor(current)
	if err != nil {
		return nil, err
	}
	if accessor.GetName() != old.GetName() {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", accessor.GetName(), old.GetName()))
	}
	if res.Namespaced {
		switch ns := accessor.GetNamespace(); {
		case ns == "":
			accessor.SetNamespace(old.GetNamespace())
		case ns != old.GetNamespace():
			return nil, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
		}
	} else {
		accessor.SetNamespace("")
	}
	var errs field.ErrorList
	switch uid := accessor.GetUID(); {
	case uid == "":
		accessor.SetUID(old.GetUID())
	case uid != old.GetUID():
		errs = append(errs, field.Invalid(field.NewPath("metadata", "uid"), uid, "field is immutable"))
	}
	if old.GetDeletionTimestamp() != nil {
		for _, f := range accessor.GetFinalizers() {
			if !slices.Contains(old.GetFinalizers(), f) {
				errs = append(errs, field.Forbidden(field.NewPath("metadata", "finalizers"), fmt.Sprintf("no new finalizers can be added if the object is being deleted, found new finalizers %q", f)))
				break
			}
		}
	}
	accessor.SetCreationTimestamp(old.GetCreationTimestamp())
	accessor.SetGeneration(old.GetGeneration())
	accessor.SetDeletionTimestamp(old.GetDeletionTimestamp())
	if old.GetDeletionGracePeriodSeconds() != nil {
		accessor.SetDeletionGracePeriodSeconds(old.GetDeletionGracePeriodSeconds())
	}
	accessor.SetSelfLink("")
	obj.GetObjectKind().SetGroupVersionKind(res.gvk)

	fieldManager, statusFieldManager := s.fieldManagers(res)
	switch {
	case o.system:
		fieldManager = nil
	case o.subresource == "status":
		fieldManager = statusFieldManager
		res.Status.PrepareForUpdate(ctx, obj, current)
		errs = append(errs, res.Status.ValidateUpdate(ctx, obj, current)...)
	default:
		res.Strategy.PrepareForUpdate(ctx, obj, current)
		errs = append(errs, res.Strategy.ValidateUpdate(ctx, obj, current)...)
		if res.Strategy.SpecChanged(obj, current) {
			accessor.SetGeneration(old.GetGeneration() + 1)
		}
	}
	if len(errs) > 0 {
		return nil, apierrors.NewInvalid(res.gvk.GroupKind(), accessor.GetName(), errs)
	}
	if fieldManager != nil && !s.opts.DisableManagedFields && !o.skipManagedFields {
		obj = updateManagedFields(fieldManager, current, obj, o.manager)
	}
	obj.GetObjectKind().SetGroupVersionKind(res.gvk)
	return obj, nil
}
