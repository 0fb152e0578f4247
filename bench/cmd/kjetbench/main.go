// Command kjetbench measures kjet's hot paths end to end against a built kjet binary and
// prints one markdown table: every figure next to a baseline measured in the same run,
// with their ratio, so the numbers survive a noisy, shared machine.
//
// It builds nothing itself: --kjet names the binary (bench/run.sh builds it). Each
// scenario starts its own kjet server on a temporary data dir and reaps it (and the
// node's supervisor) before the next one starts.
//
//	kjetbench --kjet /tmp/kjet [--scenarios startup,api,watch,rss,pods,indexed,run]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// options are kjetbench's flags. Zero values are replaced by the documented defaults.
type options struct {
	// Kjet is the path of the kjet binary under test (required).
	Kjet string
	// Scenarios lists the scenarios to run, in order (default: all).
	Scenarios []string
	// Rounds is how many times each throughput figure is measured; the median is
	// reported (default 3).
	Rounds int
	// Restarts is how many server restarts the start-up scenario times (default 10).
	Restarts int
	// APIOps is how many create+get pairs one API throughput round makes (default 500).
	APIOps int
	// WatchEvents is how many writes the watch latency scenario times (default 500).
	WatchEvents int
	// Pods is how many bare pods the pod overhead scenario runs per concurrency (default 24).
	Pods int
	// Completions and Parallelism shape the Indexed Job (defaults 2000 and 32).
	Completions, Parallelism int
	// IndexedTimeout bounds the Indexed Job scenario (default 3m).
	IndexedTimeout time.Duration
	// Runs is how many `kjet run` cold starts are timed (default 5).
	Runs int
	// Verbose logs progress to stderr.
	Verbose bool
	// ServerArgs are appended to every `kjet server` command line.
	ServerArgs []string
}

var allScenarios = []string{"startup", "api", "watch", "rss", "pods", "indexed", "run"}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("kjetbench", flag.ContinueOnError)
	fs.StringVar(&o.Kjet, "kjet", "", "path of the kjet binary to measure (required)")
	scen := fs.String("scenarios", strings.Join(allScenarios, ","), "comma-separated scenarios to run: "+strings.Join(allScenarios, ","))
	fs.IntVar(&o.Rounds, "rounds", 3, "measurements per throughput figure (median reported)")
	fs.IntVar(&o.Restarts, "restarts", 10, "server restarts timed by the start-up scenario")
	fs.IntVar(&o.APIOps, "api-ops", 500, "create+get pairs per API throughput round")
	fs.IntVar(&o.WatchEvents, "watch-events", 500, "writes timed by the watch latency scenario")
	fs.IntVar(&o.Pods, "pods", 24, "bare pods per concurrency in the pod overhead scenario")
	fs.IntVar(&o.Completions, "completions", 2000, "completions of the Indexed Job")
	fs.IntVar(&o.Parallelism, "parallelism", 32, "parallelism of the Indexed Job (and the baseline's concurrency)")
	fs.DurationVar(&o.IndexedTimeout, "indexed-timeout", 3*time.Minute, "give up on the Indexed Job after this long")
	fs.IntVar(&o.Runs, "runs", 5, "`kjet run` cold starts timed")
	fs.BoolVar(&o.Verbose, "v", false, "log progress to stderr")
	serverArgs := fs.String("server-args", "", "extra space-separated arguments for every `kjet server` (e.g. \"--cpu-profile /tmp/cpu.prof\" to profile a scenario)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.Kjet == "" {
		return o, fmt.Errorf("--kjet is required")
	}
	o.ServerArgs = strings.Fields(*serverArgs)
	for _, s := range strings.Split(*scen, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		known := false
		for _, a := range allScenarios {
			known = known || a == s
		}
		if !known {
			return o, fmt.Errorf("unknown scenario %q (known: %s)", s, strings.Join(allScenarios, ","))
		}
		o.Scenarios = append(o.Scenarios, s)
	}
	if o.Rounds < 1 || o.Restarts < 1 || o.APIOps < 1 || o.WatchEvents < 1 || o.Pods < 1 || o.Completions < 1 || o.Parallelism < 1 || o.Runs < 1 {
		return o, fmt.Errorf("counts must be positive")
	}
	return o, nil
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "kjetbench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := &bench{opts: o}
	if err := b.run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "kjetbench:", err)
		stop()
		os.Exit(1)
	}
}

// bench runs the chosen scenarios and collects their rows.
type bench struct {
	opts options
	rows []row
}

func (b *bench) logf(format string, args ...any) {
	if b.opts.Verbose {
		fmt.Fprintf(os.Stderr, "kjetbench: "+format+"\n", args...)
	}
}

func (b *bench) run(ctx context.Context) error {
	scenarios := map[string]func(context.Context) error{
		"startup": b.startup,
		"api":     b.apiThroughput,
		"watch":   b.watchLatency,
		"rss":     b.idleRSS,
		"pods":    b.podOverhead,
		"indexed": b.indexedJob,
		"run":     b.runColdStart,
	}
	began := time.Now()
	var failed []string
	for _, s := range b.opts.Scenarios {
		b.logf("scenario %s", s)
		t := time.Now()
		if err := scenarios[s](ctx); err != nil {
			// One broken scenario must not hide the others' figures.
			fmt.Fprintf(os.Stderr, "kjetbench: scenario %s: %v\n", s, err)
			b.rows = append(b.rows, row{Scenario: s, Metric: "error", Figure: err.Error()})
			failed = append(failed, s)
		}
		b.logf("scenario %s took %s", s, time.Since(t).Round(time.Millisecond))
		if ctx.Err() != nil {
			break
		}
	}
	host, _ := os.Hostname()
	fmt.Printf("kjetbench %s on %s: %d CPUs, load average %s, suite took %s\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), host, runtime.NumCPU(), loadAverage(), time.Since(began).Round(time.Second))
	printTable(os.Stdout, b.rows)
	if len(failed) > 0 {
		return fmt.Errorf("scenarios failed: %s", strings.Join(failed, ", "))
	}
	return ctx.Err()
}

// loadAverage is the first three fields of /proc/loadavg, or "?".
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
