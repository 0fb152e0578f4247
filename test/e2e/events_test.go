package e2e

import (
	"strings"
	"testing"
	"time"
)

// eventsV1Manifest is an event written through events.k8s.io/v1, as client-go's newer
// event recorder writes them.
const eventsV1Manifest = `apiVersion: events.k8s.io/v1
kind: Event
metadata: {name: tested.1, namespace: default}
eventTime: "2026-11-22T19:00:00.000000Z"
reportingController: example.com/tester
reportingInstance: tester-1
action: Testing
reason: Tested
type: Normal
note: written through events.k8s.io
regarding: {kind: Pod, name: short-lived, namespace: default, apiVersion: v1}
`

// TestEventsExpire: with --event-ttl, events (core and events.k8s.io) are deleted that
// long after their last write, as kube-apiserver's --event-ttl does; the pod they are
// about stays.
func TestEventsExpire(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--event-ttl=3s")
	s.applyYAML(t, podManifest("short-lived", "Never", `["true"]`, "", ""))
	s.applyYAML(t, eventsV1Manifest)
	s.waitJSONPath(t, 30*time.Second, "pod/short-lived", "{.status.phase}", "Succeeded")
	eventually(t, 30*time.Second, "the pod's Started event", func() (bool, string) {
		out, _, _ := s.Kubectl(t, "get", "events", "--field-selector", "involvedObject.name=short-lived", "--no-headers")
		return strings.Contains(out, "Started"), out
	})
	eventually(t, 30*time.Second, "every event expired", func() (bool, string) {
		core, _, err1 := s.Kubectl(t, "get", "events", "--no-headers")
		v1, _, err2 := s.Kubectl(t, "get", "events.events.k8s.io", "--no-headers")
		return err1 == nil && err2 == nil && strings.TrimSpace(core+v1) == "", core + v1
	})
	if phase := s.jsonpath(t, "pod/short-lived", "{.status.phase}"); phase != "Succeeded" {
		t.Errorf("pod phase = %q after its events expired, want Succeeded", phase)
	}
}
