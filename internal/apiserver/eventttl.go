package apiserver

import (
	"slices"

	eventsv1 "k8s.io/api/events/v1"

	"github.com/kjet-dev/kjet/internal/apiserver/internal/expiry"
)

// eventExpirer returns what deletes events once their time to live has passed, or nil
// if they are kept (a negative EventTTL, or no events served).
func (s *Server) eventExpirer() *expiry.Expirer {
	if s.opts.EventTTL <= 0 {
		return nil
	}
	var prefixes []string
	for _, byResource := range s.byGroupVersion {
		if res := byResource["events"]; res != nil && (res.gr.Group == "" || res.gr.Group == eventsv1.GroupName) {
			prefixes = append(prefixes, res.keyPrefix)
		}
	}
	if len(prefixes) == 0 {
		return nil
	}
	slices.Sort(prefixes)
	e, err := expiry.New(s.store, slices.Compact(prefixes), s.opts.EventTTL, s.clock)
	if err != nil {
		return nil // unreachable: the time to live is positive
	}
	return e
}
