// Package eventrecorder sets up client-go event recording for a controller:
// core/v1 Events written through the API server with the controller's
// component name as the source, which is what `kubectl describe` shows in its
// "From" column.
package eventrecorder

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
)

// Recorder is an event recorder whose delivery to the API server starts with
// Start and stops with Stop.
type Recorder struct {
	record.EventRecorder
	broadcaster record.EventBroadcaster
	client      kubernetes.Interface
}

// New returns a Recorder for component (e.g. "job-controller"). Events
// recorded before Start are buffered by the broadcaster.
func New(client kubernetes.Interface, component string) *Recorder {
	b := record.NewBroadcaster()
	return &Recorder{
		EventRecorder: b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: component}),
		broadcaster:   b,
		client:        client,
	}
}

// Start begins writing recorded events to the API server.
func (r *Recorder) Start() {
	r.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: r.client.CoreV1().Events("")})
}

// Stop stops delivery and waits for the broadcaster's goroutines.
func (r *Recorder) Stop() { r.broadcaster.Shutdown() }
