package apiserver

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kjet-dev/kjet/internal/storage"
)

// selectors are a request's label and field selectors.
type selectors struct {
	label labels.Selector
	field fields.Selector
}

func (sel selectors) everything() bool {
	return sel.label.Empty() && sel.field.Empty()
}

// parseSelectors reads labelSelector and fieldSelector and checks that every field is
// one res supports.
func parseSelectors(r *http.Request, res *resource) (selectors, error) {
	q := r.URL.Query()
	sel := selectors{label: labels.Everything(), field: fields.Everything()}
	if v := q.Get("labelSelector"); v != "" {
		ls, err := labels.Parse(v)
		if err != nil {
			return sel, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
		}
		sel.label = ls
	}
	if v := q.Get("fieldSelector"); v != "" {
		fs, err := fields.ParseSelector(v)
		if err != nil {
			return sel, apierrors.NewBadRequest(fmt.Sprintf("invalid field selector: %v", err))
		}
		for _, req := range fs.Requirements() {
			if res.fieldLabels.Has(req.Field) {
				continue
			}
			if res.gvk.Group == "" {
				return sel, apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", req.Field))
			}
			return sel, apierrors.NewBadRequest(fmt.Sprintf("%q is not a known field selector: only %q, %q", req.Field, "metadata.name", "metadata.namespace"))
		}
		sel.field = fs
	}
	return sel, nil
}

// matches reports whether obj passes sel.
func (s *Server) matches(res *resource, obj runtime.Object, sel selectors) (bool, error) {
	if sel.everything() {
		return true, nil
	}
	lbls, flds, err := res.Strategy.AttrsFunc(obj)
	if err != nil {
		return false, apierrors.NewInternalError(fmt.Errorf("attributes of %s: %w", res.Kind, err))
	}
	if _, ok := flds["metadata.name"]; !ok || (res.Namespaced && flds["metadata.namespace"] == "") {
		accessor, err := metaAccessor(obj)
		if err != nil {
			return false, err
		}
		withMeta := fields.Set{"metadata.name": accessor.GetName()}
		if res.Namespaced {
			withMeta["metadata.namespace"] = accessor.GetNamespace()
		}
		for k, v := range flds {
			withMeta[k] = v
		}
		flds = withMeta
	}
	return sel.label.Matches(lbls) && sel.field.Matches(flds), nil
}

// continueToken is the opaque list continuation handed to clients.
type continueToken struct {
	APIVersion      string `json:"v"`
	ResourceVersion int64  `json:"rv"`
	Start           string `json:"start"`
}

func encodeContinue(rev int64, afterKey string) string {
	data, _ := json.Marshal(continueToken{APIVersion: "meta.k8s.io/v1", ResourceVersion: rev, Start: afterKey})
	return base64.RawURLEncoding.EncodeToString(data)
}

func decodeContinue(token, prefix string) (string, error) {
	data, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", apierrors.NewBadRequest(fmt.Sprintf("continue key is not valid: %v", err))
	}
	var t continueToken
	if err := json.Unmarshal(data, &t); err != nil || t.APIVersion != "meta.k8s.io/v1" || !strings.HasPrefix(t.Start, prefix) {
		return "", apierrors.NewBadRequest("continue key is not valid: incorrect encoded start key or version")
	}
	return t.Start, nil
}

// listPage lists up to limit (0 = all) matching objects of res after the key after.
// It returns the items, the read revision, and the key to continue after ("" at the end).
func (s *Server) listPage(ctx context.Context, res *resource, namespace string, sel selectors, limit int64, after string) ([]runtime.Object, int64, string, error) {
	prefix := res.collectionPrefix(namespace)
	var items []runtime.Object
	var rev int64
	for {
		want := int64(0)
		if limit > 0 {
			want = limit - int64(len(items))
		}
		page, err := s.store.List(ctx, prefix, storage.ListOptions{Limit: want, After: after})
		if err != nil {
			return nil, 0, "", storageError(err, res, "")
		}
		if rev == 0 {
			rev = page.Revision
		}
		for _, kv := range page.Items {
			obj, err := s.decodeKV(res, kv.Value, kv.ModRevision)
			if err != nil {
				return nil, 0, "", err
			}
			ok, err := s.matches(res, obj, sel)
			if err != nil {
				return nil, 0, "", err
			}
			if ok {
				items = append(items, obj)
			}
		}
		if !page.More || len(page.Items) == 0 {
			return items, rev, "", nil
		}
		after = page.Items[len(page.Items)-1].Key
		if limit > 0 && int64(len(items)) >= limit {
			return items, rev, after, nil
		}
	}
}

// listAll lists every matching object of res.
func (s *Server) listAll(ctx context.Context, res *resource, namespace string, sel selectors) ([]runtime.Object, int64, error) {
	items, rev, _, err := s.listPage(ctx, res, namespace, sel, 0, "")
	return items, rev, err
}

func setListItems(list runtime.Object, items []runtime.Object) error {
	if items == nil {
		items = []runtime.Object{}
	}
	for _, item := range items {
		// Items of a typed list carry no apiVersion/kind, like the apiserver's.
		item.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
	}
	if err := meta.SetList(list, items); err != nil {
		return apierrors.NewInternalError(fmt.Errorf("filling %T: %w", list, err))
	}
	return nil
}

func (s *Server) serveList(w http.ResponseWriter, r *http.Request, req apiRequest) {
	q := r.URL.Query()
	sel, err := parseSelectors(r, req.res)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var limit int64
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.ParseInt(v, 10, 64); err != nil || limit < 0 {
			s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("invalid limit %q", v)))
			return
		}
	}
	prefix := req.res.collectionPrefix(req.namespace)
	after := ""
	if v := q.Get("continue"); v != "" {
		if after, err = decodeContinue(v, prefix); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	items, rev, next, err := s.listPage(r.Context(), req.res, req.namespace, sel, limit, after)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	listMeta := metav1.ListMeta{ResourceVersion: strconv.FormatInt(rev, 10)}
	if next != "" {
		listMeta.Continue = encodeContinue(rev, next)
	}
	n := negotiate(r)
	switch n.kind {
	case acceptTable:
		table, err := s.tableFor(r, req.res, items, true)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		table.ListMeta = listMeta
		s.writeObject(w, r, http.StatusOK, table, mediaJSON)
	case acceptPartialMetadata:
		list := &metav1.PartialObjectMetadataList{
			TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "PartialObjectMetadataList"},
			ListMeta: listMeta,
			Items:    make([]metav1.PartialObjectMetadata, 0, len(items)),
		}
		for _, item := range items {
			pom, err := partialMetadata(item)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			list.Items = append(list.Items, *pom)
		}
		s.writeObject(w, r, http.StatusOK, list, n.mediaType)
	default:
		list := req.res.NewList()
		if err := setListItems(list, items); err != nil {
			s.writeError(w, r, err)
			return
		}
		listAccessor, err := meta.ListAccessor(list)
		if err != nil {
			s.writeError(w, r, apierrors.NewInternalError(err))
			return
		}
		listAccessor.SetResourceVersion(listMeta.ResourceVersion)
		listAccessor.SetContinue(listMeta.Continue)
		list.GetObjectKind().SetGroupVersionKind(req.res.listGVK)
		s.writeObject(w, r, http.StatusOK, list, n.mediaType)
	}
}

// partialMetadata is obj's metadata as a PartialObjectMetadata.
func partialMetadata(obj runtime.Object) (*metav1.PartialObjectMetadata, error) {
	accessor, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	pom := meta.AsPartialObjectMetadata(accessor)
	pom.TypeMeta = metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "PartialObjectMetadata"}
	return pom, nil
}
