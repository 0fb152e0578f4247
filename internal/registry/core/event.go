package core

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kjet-dev/kjet/internal/registry"
	"github.com/kjet-dev/kjet/internal/registry/printers"
)

// EventStrategy returns the rules of core/v1 events. Their field selectors are the ones
// kubectl describe uses: involvedObject.{kind,namespace,name,uid,apiVersion,
// resourceVersion,fieldPath}, reason, reportingComponent, source and type.
func EventStrategy() registry.FuncStrategy[*corev1.Event] {
	return registry.FuncStrategy[*corev1.Event]{
		Namespaced: true,
		Check: func(e *corev1.Event) field.ErrorList {
			return validateEventNamespace(e.Namespace, e.InvolvedObject.Namespace, field.NewPath("involvedObject", "namespace"))
		},
		Fields: func(e *corev1.Event) fields.Set {
			return eventFields(e.InvolvedObject, e.Reason, e.ReportingController, e.Source.Component, e.Type)
		},
	}
}

// EventsV1Strategy returns the rules of events.k8s.io/v1 events: the same semantics,
// with regarding standing for involvedObject (so the same field selectors work).
func EventsV1Strategy() registry.FuncStrategy[*eventsv1.Event] {
	return registry.FuncStrategy[*eventsv1.Event]{
		Namespaced: true,
		Check: func(e *eventsv1.Event) field.ErrorList {
			errs := validateEventNamespace(e.Namespace, e.Regarding.Namespace, field.NewPath("regarding", "namespace"))
			switch e.Type {
			case "", corev1.EventTypeNormal, corev1.EventTypeWarning:
			default:
				errs = append(errs, field.NotSupported(field.NewPath("type"), e.Type, []string{corev1.EventTypeNormal, corev1.EventTypeWarning}))
			}
			return errs
		},
		Fields: func(e *eventsv1.Event) fields.Set {
			return eventFields(e.Regarding, e.Reason, e.ReportingController, e.DeprecatedSource.Component, e.Type)
		},
	}
}

func validateEventNamespace(eventNamespace, objectNamespace string, path *field.Path) field.ErrorList {
	if objectNamespace != "" && objectNamespace != eventNamespace {
		return field.ErrorList{field.Invalid(path, objectNamespace, "does not match event.namespace")}
	}
	return nil
}

func eventFields(ref corev1.ObjectReference, reason, reportingController, sourceComponent, eventType string) fields.Set {
	return fields.Set{
		"involvedObject.kind":            ref.Kind,
		"involvedObject.namespace":       ref.Namespace,
		"involvedObject.name":            ref.Name,
		"involvedObject.uid":             string(ref.UID),
		"involvedObject.apiVersion":      ref.APIVersion,
		"involvedObject.resourceVersion": ref.ResourceVersion,
		"involvedObject.fieldPath":       ref.FieldPath,
		"reason":                         reason,
		"reportingComponent":             reportingController,
		"source":                         sourceComponent,
		"type":                           eventType,
	}
}

// EventTable renders events as kubectl get events shows them: LAST SEEN, TYPE, REASON,
// OBJECT, [SUBOBJECT, SOURCE], MESSAGE, [FIRST SEEN, COUNT, NAME]. It serves both
// core/v1 and events.k8s.io/v1 events.
type EventTable struct{}

var _ registry.TableConvertor = EventTable{}

// Columns implements registry.TableConvertor.
func (EventTable) Columns() []metav1.TableColumnDefinition {
	name := printers.NameColumn()
	name.Priority = 1
	return []metav1.TableColumnDefinition{
		printers.Column("Last Seen", "string", "The time at which the most recent occurrence of this event was recorded.", 0),
		printers.Column("Type", "string", "Type of this event (Normal, Warning), new types could be added in the future", 0),
		printers.Column("Reason", "string", "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.", 0),
		printers.Column("Object", "string", "The object that this event is about.", 0),
		printers.Column("Subobject", "string", "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.", 1),
		printers.Column("Source", "string", "The component reporting this event. Should be a short machine understandable string.", 1),
		printers.Column("Message", "string", "A human-readable description of the status of this operation.", 0),
		printers.Column("First Seen", "string", "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)", 1),
		printers.Column("Count", "string", "The number of times this event has occurred.", 1),
		name,
	}
}

// Cells implements registry.TableConvertor.
func (EventTable) Cells(obj runtime.Object, now time.Time) ([]interface{}, error) {
	var e *corev1.Event
	switch ev := obj.(type) {
	case *corev1.Event:
		e = ev
	case *eventsv1.Event:
		e = eventFromEventsV1(ev)
	default:
		return nil, fmt.Errorf("event table: unexpected object %T", obj)
	}
	firstSeen := printers.Since(e.FirstTimestamp, now)
	if e.FirstTimestamp.IsZero() {
		firstSeen = sinceMicro(e.EventTime, now)
	}
	lastSeen := printers.Since(e.LastTimestamp, now)
	if e.LastTimestamp.IsZero() {
		lastSeen = firstSeen
	}
	count := e.Count
	if e.Series != nil {
		lastSeen = sinceMicro(e.Series.LastObservedTime, now)
		count = e.Series.Count
	} else if count == 0 {
		count = 1
	}
	target := strings.ToLower(e.InvolvedObject.Kind)
	if e.InvolvedObject.Name != "" {
		target += "/" + e.InvolvedObject.Name
	}
	component := firstNonEmpty(e.Source.Component, e.ReportingController)
	if instance := firstNonEmpty(e.Source.Host, e.ReportingInstance); instance != "" {
		component += ", " + instance
	}
	return []interface{}{
		lastSeen,
		e.Type,
		e.Reason,
		target,
		e.InvolvedObject.FieldPath,
		component,
		strings.TrimSpace(e.Message),
		firstSeen,
		int64(count),
		e.Name,
	}, nil
}

func sinceMicro(t metav1.MicroTime, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return printers.Since(metav1.NewTime(t.Time), now)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// eventFromEventsV1 maps an events.k8s.io/v1 event onto the core/v1 fields the table
// shows.
func eventFromEventsV1(ev *eventsv1.Event) *corev1.Event {
	e := &corev1.Event{
		ObjectMeta:          ev.ObjectMeta,
		InvolvedObject:      ev.Regarding,
		Reason:              ev.Reason,
		Message:             ev.Note,
		Source:              ev.DeprecatedSource,
		FirstTimestamp:      ev.DeprecatedFirstTimestamp,
		LastTimestamp:       ev.DeprecatedLastTimestamp,
		Count:               ev.DeprecatedCount,
		Type:                ev.Type,
		EventTime:           ev.EventTime,
		ReportingController: ev.ReportingController,
		ReportingInstance:   ev.ReportingInstance,
	}
	if ev.Series != nil {
		e.Series = &corev1.EventSeries{Count: ev.Series.Count, LastObservedTime: ev.Series.LastObservedTime}
	}
	return e
}
