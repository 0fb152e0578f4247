package apiserver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kjet-dev/kjet/internal/storage"
)

// deleteResult is what a delete did.
type deleteResult struct {
	// obj is the final state: the removed object, or the object now carrying
	// deletionTimestamp.
	obj runtime.Object
	// deleted is true when the object is gone from storage.
	deleted  bool
	warnings []string
}

// undeletableNamespaces may never be deleted.
var undeletableNamespaces = []string{metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic}

// deleteObject deletes one object following opts: preconditions, grace period,
// propagation finalizers and the object's own finalizers decide whether it goes at
// once or only gets a deletionTimestamp.
func (s *Server) deleteObject(ctx context.Context, res *resource, namespace, name string, opts *metav1.DeleteOptions) (deleteResult, error) {
	dryRun := slices.Contains(opts.DryRun, metav1.DryRunAll)
	var warnings []string
	policy := metav1.DeletePropagationBackground
	switch {
	case opts.PropagationPolicy != nil:
		policy = *opts.PropagationPolicy
	case orphanDependents(opts) != nil:
		if *orphanDependents(opts) {
			policy = metav1.DeletePropagationOrphan
		}
	case res.DefaultPropagation != "":
		policy = res.DefaultPropagation
		if res.DeleteWarning != "" {
			warnings = append(warnings, res.DeleteWarning)
		}
	}
	if res == s.namespaces && slices.Contains(undeletableNamespaces, name) {
		return deleteResult{}, apierrors.NewForbidden(res.gr, name, errors.New("this namespace may not be deleted"))
	}
	for attempt := 0; ; attempt++ {
		current, kv, err := s.readObject(ctx, res, namespace, name)
		if err != nil {
			return deleteResult{}, err
		}
		old, err := metaAccessor(current)
		if err != nil {
			return deleteResult{}, err
		}
		if p := opts.Preconditions; p != nil {
			if p.UID != nil && *p.UID != old.GetUID() {
				//lint:ignore ST1005 Kubernetes' exact message.
				return deleteResult{}, apierrors.NewConflict(res.gr, name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", *p.UID, old.GetUID()))
			}
			if p.ResourceVersion != nil && *p.ResourceVersion != old.GetResourceVersion() {
				//lint:ignore ST1005 Kubernetes' exact message.
				return deleteResult{}, apierrors.NewConflict(res.gr, name, fmt.Errorf("Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *p.ResourceVersion, old.GetResourceVersion()))
			}
		}
		obj := current.DeepCopyObject()
		accessor, err := metaAccessor(obj)
		if err != nil {
			return deleteResult{}, err
		}
		now := metav1.NewTime(s.clock.Now().UTC().Truncate(time.Second))

		// Grace period (pods): the object stays, marked, until its owner deletes it with 0.
		gracePending := false
		if res.GracefulDelete != nil {
			grace := res.GracefulDelete(obj, opts.GracePeriodSeconds)
			if grace > 0 {
				current := accessor.GetDeletionGracePeriodSeconds()
				if accessor.GetDeletionTimestamp() == nil || current == nil || *current > grace {
					ts := metav1.NewTime(now.Add(time.Duration(grace) * time.Second))
					accessor.SetDeletionTimestamp(&ts)
					accessor.SetDeletionGracePeriodSeconds(&grace)
				}
				gracePending = true
			} else if accessor.GetDeletionTimestamp() != nil {
				zero := int64(0)
				accessor.SetDeletionGracePeriodSeconds(&zero)
			}
		}

		// Propagation: Orphan and Foreground leave the work to the garbage collector.
		finalizers := accessor.GetFinalizers()
		switch policy {
		case metav1.DeletePropagationOrphan:
			finalizers = addFinalizer(removeFinalizer(finalizers, finalizerForeground), finalizerOrphan)
		case metav1.DeletePropagationForeground:
			finalizers = addFinalizer(removeFinalizer(finalizers, finalizerOrphan), finalizerForeground)
		}
		if res == s.namespaces {
			// Namespaces go through Run, which empties them first.
			if ns, ok := obj.(*corev1.Namespace); ok {
				ns.Status.Phase = corev1.NamespaceTerminating
			}
			gracePending = true
		}
		accessor.SetFinalizers(finalizers)

		if len(finalizers) > 0 || gracePending {
			if accessor.GetDeletionTimestamp() == nil {
				accessor.SetDeletionTimestamp(&now)
				zero := int64(0)
				accessor.SetDeletionGracePeriodSeconds(&zero)
			}
			if dryRun {
				return deleteResult{obj: obj, warnings: warnings}, nil
			}
			data, err := s.codecs.encodeStorage(obj, res.gvk)
			if err != nil {
				return deleteResult{}, apierrors.NewInternalError(err)
			}
			if s.codecs.unchanged(data, kv.Value, current, res.gvk) {
				return deleteResult{obj: current, warnings: warnings}, nil
			}
			rev, err := s.store.Update(ctx, kv.Key, data, kv.ModRevision)
			if err != nil {
				if (errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound)) && attempt < maxUpdateAttempts {
					continue
				}
				return deleteResult{}, storageError(err, res, name)
			}
			accessor.SetResourceVersion(strconv.FormatInt(rev, 10))
			if res == s.namespaces {
				s.promptNamespaceFinalization()
			}
			return deleteResult{obj: obj, warnings: warnings}, nil
		}

		if dryRun {
			return deleteResult{obj: current, deleted: true, warnings: warnings}, nil
		}
		deleted, err := s.store.Delete(ctx, kv.Key, kv.ModRevision)
		if err != nil {
			if errors.Is(err, storage.ErrConflict) && attempt < maxUpdateAttempts {
				continue
			}
			return deleteResult{}, storageError(err, res, name)
		}
		final, err := s.decodeKV(res, deleted.Value, deleted.ModRevision)
		if err != nil {
			return deleteResult{}, err
		}
		return deleteResult{obj: final, deleted: true, warnings: warnings}, nil
	}
}

func addFinalizer(finalizers []string, f string) []string {
	if slices.Contains(finalizers, f) {
		return finalizers
	}
	return append(finalizers, f)
}

func removeFinalizer(finalizers []string, f string) []string {
	return slices.DeleteFunc(slices.Clone(finalizers), func(x string) bool { return x == f })
}

// orphanDependents reads DeleteOptions.OrphanDependents: deprecated, but still part of
// the API, and clients may send it.
func orphanDependents(opts *metav1.DeleteOptions) *bool {
	//lint:ignore SA1019 still part of the API.
	return opts.OrphanDependents
}

func setOrphanDependents(opts *metav1.DeleteOptions, orphan bool) {
	//lint:ignore SA1019 still part of the API.
	opts.OrphanDependents = &orphan
}
