package main

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{name: "empty", in: nil, p: 50, want: 0},
		{name: "one", in: []time.Duration{3 * ms}, p: 99, want: 3 * ms},
		{name: "median of odd count, unsorted", in: []time.Duration{5 * ms, 1 * ms, 3 * ms}, p: 50, want: 3 * ms},
		{name: "p99 of 100 is the 99th", in: seq(100), p: 99, want: 99 * ms},
		{name: "p0 is the minimum", in: seq(10), p: 0, want: 1 * ms},
		{name: "p100 is the maximum", in: seq(10), p: 100, want: 10 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.in, tt.p); got != tt.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tt.in, tt.p, got, tt.want)
			}
		})
	}
}

// seq is 1ms..n ms in reverse order (so percentile must sort).
func seq(n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(n-i) * time.Millisecond
	}
	return out
}

func TestMedianFloat(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{name: "empty", in: nil, want: 0},
		{name: "odd", in: []float64{3, 1, 2}, want: 2},
		{name: "even averages the middle two", in: []float64{4, 1, 3, 2}, want: 2.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := medianFloat(tt.in); got != tt.want {
				t.Errorf("medianFloat(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestStatFields(t *testing.T) {
	tests := []struct {
		name      string
		stat      string
		state     string
		utime     string
		wantEmpty bool
	}{
		{name: "plain", stat: "123 (kjet) S 1 2 3 4 5 6 7 8 9 10 42 7 0 0", state: "S", utime: "42"},
		{name: "command with spaces and parens", stat: "9 (a) b) c) R 1 2 3 4 5 6 7 8 9 10 11 12", state: "R", utime: "11"},
		{name: "no command", stat: "garbage", wantEmpty: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := statFields(tt.stat)
			if tt.wantEmpty {
				if len(f) != 0 {
					t.Fatalf("statFields = %v, want none", f)
				}
				return
			}
			if f[0] != tt.state || f[11] != tt.utime {
				t.Errorf("state %q utime %q, want %q %q", f[0], f[11], tt.state, tt.utime)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantErr   bool
		scenarios int
	}{
		{name: "kjet is required", args: nil, wantErr: true},
		{name: "defaults run every scenario", args: []string{"--kjet", "/bin/kjet"}, scenarios: len(allScenarios)},
		{name: "a subset", args: []string{"--kjet", "k", "--scenarios", "startup, rss"}, scenarios: 2},
		{name: "unknown scenario", args: []string{"--kjet", "k", "--scenarios", "startup,nope"}, wantErr: true},
		{name: "counts must be positive", args: []string{"--kjet", "k", "--completions", "0"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && len(o.Scenarios) != tt.scenarios {
				t.Errorf("scenarios %v, want %d", o.Scenarios, tt.scenarios)
			}
		})
	}
}
