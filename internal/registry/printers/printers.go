// Package printers holds the small pieces the per-resource Table convertors share:
// column definitions in the shape kubectl expects, ages, and the wide-output helpers
// (container names, images, selectors), following Kubernetes' server-side printers.
package printers

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

// None is what kubectl shows for an empty cell.
const None = "<none>"

// Column returns a column definition; priority 1 means "-o wide only".
func Column(name, typ, description string, priority int32) metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: name, Type: typ, Description: description, Priority: priority}
}

// NameColumn is the Name column every table starts with (format "name").
func NameColumn() metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{
		Name:        "Name",
		Type:        "string",
		Format:      "name",
		Description: "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
	}
}

// AgeColumn is the Age column.
func AgeColumn() metav1.TableColumnDefinition {
	return Column("Age", "string", "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata", 0)
}

// Since renders the time from t to now the way kubectl does ("5s", "2m5s", "3d4h");
// a zero time is "<unknown>".
func Since(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// SinceOrNone is Since for optional timestamps: nil or zero gives "<none>".
func SinceOrNone(t *metav1.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return None
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// ContainersAndImages returns the container names and images joined by ",".
func ContainersAndImages(containers []corev1.Container) (names, images string) {
	n := make([]string, 0, len(containers))
	im := make([]string, 0, len(containers))
	for _, c := range containers {
		n = append(n, c.Name)
		im = append(im, c.Image)
	}
	return strings.Join(n, ","), strings.Join(im, ",")
}

// Selector formats a label selector ("a=b,c in (d)"), "<none>" when nil or empty.
func Selector(sel *metav1.LabelSelector) string {
	return metav1.FormatLabelSelector(sel)
}

// OrNone returns s, or "<none>" when s is empty.
func OrNone(s string) string {
	if s == "" {
		return None
	}
	return s
}

// TemplateColumns are the wide columns of every kind with a pod template: its
// containers' names and images, and the selector (described as the kind documents it).
func TemplateColumns(selectorDescription string) []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		Column("Containers", "string", "Names of each container in the template.", 1),
		Column("Images", "string", "Images referenced by each container in the template.", 1),
		Column("Selector", "string", selectorDescription, 1),
	}
}
