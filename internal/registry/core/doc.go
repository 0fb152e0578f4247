// Package core holds the rules of the core/v1 kinds kjet serves besides pods (namespaces,
// configmaps, secrets, serviceaccounts, events, nodes, services) and of the Events of
// events.k8s.io/v1: defaults, validation, status handling, field selectors and kubectl's
// tables. Each kind has a constructor for its Strategy (and Status, Table where it has
// them); internal/registry/catalog assembles them into registry.Resources.
package core
