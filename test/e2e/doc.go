// Package e2e holds kjet's black-box tests: they build the kjet binary once, start it
// as `kjet server` on a temporary data dir and a free port, and drive it with the
// embedded `kjet kubectl` (and the system kubectl when installed), as a user would.
package e2e
