package supervisormain

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestRunRejectsBadArguments: the supervisor's flags are checked before anything
// starts (a started supervisor is covered by TestSupervisorSkipsKubernetesInit in
// cmd/kjet).
func TestRunRejectsBadArguments(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no dir", nil, `required flag "dir" not set`},
		{"empty dir", []string{"--dir", ""}, `required flag "dir" not set`},
		{"unknown flag", []string{"--dir", t.TempDir(), "--bogus"}, "flag provided but not defined: -bogus"},
		{"bad duration", []string{"--dir", t.TempDir(), "--idle-timeout", "soon"}, `invalid value "soon"`},
		{"extra argument", []string{"--dir", t.TempDir(), "extra"}, `unexpected arguments: ["extra"]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			err := Run(context.Background(), tc.args, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run(%q) = %v, want an error containing %q", tc.args, err, tc.want)
			}
		})
	}
}
