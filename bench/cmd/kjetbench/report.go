package main

import (
	"fmt"
	"io"
	"sort"
	"time"
)

// row is one line of the result table: a figure, the baseline measured in the same run,
// their ratio and the target the figure is held to.
type row struct {
	Scenario string
	Metric   string
	Figure   string
	Baseline string
	Ratio    string
	Target   string
	// Met is "yes", "no" or "" (no target).
	Met   string
	Notes string
}

func printTable(w io.Writer, rows []row) {
	fmt.Fprintln(w, "| scenario | metric | kjet | baseline | ratio | target | met | notes |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.Scenario, r.Metric, r.Figure, r.Baseline, r.Ratio, r.Target, r.Met, r.Notes)
	}
}

func met(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

// median of ds (zero for none). ds is not modified.
func median(ds []time.Duration) time.Duration { return percentile(ds, 50) }

// percentile p (0..100) of ds by nearest rank (zero for none). ds is not modified.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p/100*float64(len(s))+0.5) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i]
}

func medianFloat(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ms formats d in milliseconds with enough precision for sub-millisecond figures.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v < 1:
		return fmt.Sprintf("%.3f ms", v)
	case v < 100:
		return fmt.Sprintf("%.1f ms", v)
	default:
		return fmt.Sprintf("%.0f ms", v)
	}
}

func ratio(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", a/b)
}
