package components

import (
	"context"
	"errors"
	"testing"
)

// The parts of the server run as one component: the first to fail stops the others and
// its error says which part it was; a part that stops on its own is a failure too.
func TestRunAllNamedParts(t *testing.T) {
	errDisk := errors.New("disk full")
	untilCancelled := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	cases := []struct {
		name string
		// fail is what the "scheduler" part does; nil runs it until ctx ends.
		fail   func(ctx context.Context) error
		cancel bool
		want   string
		is     error
	}{
		{name: "clean stop", cancel: true},
		{name: "part fails", fail: func(context.Context) error { return errDisk }, want: "scheduler: disk full", is: errDisk},
		{name: "part stops early", fail: func(context.Context) error { return nil }, want: "scheduler: components: stopped before the server", is: errStoppedEarly},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			sched := untilCancelled
			if tc.fail != nil {
				sched = tc.fail
			}
			if tc.cancel {
				cancel()
			}
			err := runAll(ctx, named("controller-manager", untilCancelled), named("scheduler", sched), named("node-agent", untilCancelled))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("runAll = %v, want nil", err)
			case tc.want != "" && (err == nil || err.Error() != tc.want || !errors.Is(err, tc.is)):
				t.Fatalf("runAll = %v, want %q", err, tc.want)
			}
		})
	}
}
