package apiserver

import (
	"fmt"
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/kjet-dev/kjet/internal/registry"
)

// defaultTable is the NAME/AGE table of resources without their own columns.
type defaultTable struct{}

var _ registry.TableConvertor = defaultTable{}

func (defaultTable) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
		{Name: "Age", Type: "string", Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]},
	}
}

func (defaultTable) Cells(obj runtime.Object, now time.Time) ([]interface{}, error) {
	accessor, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	return []interface{}{accessor.GetName(), age(accessor.GetCreationTimestamp(), now)}, nil
}

// age renders a creation time the way kubectl's printers do.
func age(created metav1.Time, now time.Time) string {
	if created.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(created.Time))
}

// includeObject reads the includeObject parameter (default Metadata).
func includeObject(r *http.Request) (metav1.IncludeObjectPolicy, error) {
	switch v := metav1.IncludeObjectPolicy(r.URL.Query().Get("includeObject")); v {
	case "", metav1.IncludeMetadata:
		return metav1.IncludeMetadata, nil
	case metav1.IncludeObject, metav1.IncludeNone:
		return v, nil
	default:
		return "", apierrors.NewBadRequest(fmt.Sprintf("includeObject: Unsupported value: %q", v))
	}
}

// tableFor renders objs as a Table; withColumns false leaves out the column
// definitions (watch events after the first).
func (s *Server) tableFor(r *http.Request, res *resource, objs []runtime.Object, withColumns bool) (*metav1.Table, error) {
	policy, err := includeObject(r)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	table := &metav1.Table{
		TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "Table"},
		Rows:     make([]metav1.TableRow, 0, len(objs)),
	}
	if withColumns {
		table.ColumnDefinitions = res.table.Columns()
	}
	for _, obj := range objs {
		cells, err := res.table.Cells(obj, now)
		if err != nil {
			return nil, apierrors.NewInternalError(fmt.Errorf("table row of %s: %w", res.Kind, err))
		}
		row := metav1.TableRow{Cells: cells}
		switch policy {
		case metav1.IncludeObject:
			obj.GetObjectKind().SetGroupVersionKind(res.gvk)
			row.Object = runtime.RawExtension{Object: obj}
		case metav1.IncludeMetadata:
			pom, err := partialMetadata(obj)
			if err != nil {
				return nil, err
			}
			row.Object = runtime.RawExtension{Object: pom}
		}
		table.Rows = append(table.Rows, row)
	}
	return table, nil
}
