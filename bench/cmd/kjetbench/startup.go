package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// startup times `kjet server` from exec to "kjet ready" on an existing data dir, against
// the start-to-exit time of `kjet version` (the process start cost of the same binary).
func (b *bench) startup(ctx context.Context) error {
	root, err := os.MkdirTemp("", "kjetbench-startup-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(root)
	dataDir := filepath.Join(root, "data")
	// The first start creates the data dir (PKI, store); it is not timed.
	s, err := b.startServer(ctx, dataDir)
	if err != nil {
		return err
	}
	first := s.ready
	s.stop()
	var ready, stops, versions []time.Duration
	for i := 0; i < b.opts.Restarts; i++ {
		s, err := b.startServer(ctx, dataDir)
		if err != nil {
			return err
		}
		ready = append(ready, s.ready)
		stops = append(stops, s.stop())
		d, _, err := b.timeVersion(ctx)
		if err != nil {
			return err
		}
		versions = append(versions, d)
	}
	fig, base := median(ready), median(versions)
	b.rows = append(b.rows, row{
		Scenario: "1 start-up", Metric: "exec to `kjet ready`, existing data dir (median)",
		Figure: ms(fig), Baseline: ms(base) + " (`kjet version`)", Ratio: ratio(float64(fig), float64(base)),
		Target: "< 150 ms", Met: met(fig < 150*time.Millisecond),
		Notes: fmt.Sprintf("%d restarts; min %s, max %s; clean SIGTERM shutdown median %s; first start on an empty data dir (PKI, store) %s (one sample)",
			len(ready), ms(percentile(ready, 0)), ms(percentile(ready, 100)), ms(median(stops)), ms(first)),
	})
	return nil
}

// timeVersion runs `kjet version` and returns its wall time and peak RSS in kB.
func (b *bench) timeVersion(ctx context.Context) (time.Duration, int64, error) {
	cmd := exec.CommandContext(ctx, b.opts.Kjet, "version")
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("kjet version: %w", err)
	}
	d := time.Since(start)
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss
	}
	return d, rss, nil
}

// idleRSS reads VmRSS of the server and its supervisor one second after start-up, against
// the peak RSS of `kjet version` (what the binary costs before doing anything).
func (b *bench) idleRSS(ctx context.Context) error {
	root, err := os.MkdirTemp("", "kjetbench-rss-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(root)
	dataDir := filepath.Join(root, "data")
	var servers, supervisors, totals, anons, psss, versions []float64
	for i := 0; i < b.opts.Rounds; i++ {
		s, err := b.startServer(ctx, dataDir)
		if err != nil {
			return err
		}
		m, err := idleRSSOf(s)
		s.stop()
		if err != nil {
			return err
		}
		servers = append(servers, float64(m.server))
		supervisors = append(supervisors, float64(m.supervisor))
		totals = append(totals, float64(m.server+m.supervisor))
		anons = append(anons, float64(m.anon))
		psss = append(psss, float64(m.pss))
		_, v, err := b.timeVersion(ctx)
		if err != nil {
			return err
		}
		versions = append(versions, float64(v))
	}
	total, base := medianFloat(totals), medianFloat(versions)
	b.rows = append(b.rows,
		row{
			Scenario: "4 idle RSS", Metric: "VmRSS server + supervisor, 1 s after ready (median)",
			Figure: mb(int64(total)), Baseline: mb(int64(base)) + " (`kjet version` peak)", Ratio: ratio(total, base),
			Target: "< 60 MB", Met: met(total < 60*1024),
			Notes: fmt.Sprintf("%d starts; server %s, supervisor %s (the supervisor is the same binary: most of its RSS is the binary's pages, shared with the server)",
				len(totals), mb(int64(medianFloat(servers))), mb(int64(medianFloat(supervisors)))),
		},
		row{
			Scenario: "4 idle RSS", Metric: "private memory: RssAnon server + supervisor; PSS sum",
			Figure: mb(int64(medianFloat(anons))) + "; PSS " + mb(int64(medianFloat(psss))),
			Target: "(< 60 MB)", Met: met(medianFloat(psss) < 60*1024),
			Notes: "RssAnon counts no file pages; PSS shares the binary's pages between the two processes",
		},
	)
	return nil
}

// idleMemory is what idleRSSOf reads, in kB.
type idleMemory struct {
	server, supervisor int64 // VmRSS
	anon               int64 // RssAnon of both
	pss                int64 // Pss of both
}

func idleRSSOf(s *server) (idleMemory, error) {
	var m idleMemory
	sup, err := s.waitSupervisor(10 * time.Second)
	if err != nil {
		return m, err
	}
	time.Sleep(time.Second) // idle: let start-up work settle before reading
	for _, pid := range []int{s.cmd.Process.Pid, sup} {
		rss, err := statusKB(pid, "VmRSS")
		if err != nil {
			return m, err
		}
		anon, err := statusKB(pid, "RssAnon")
		if err != nil {
			return m, err
		}
		pss, err := procKB(pid, "smaps_rollup", "Pss")
		if err != nil {
			return m, err
		}
		if pid == sup {
			m.supervisor = rss
		} else {
			m.server = rss
		}
		m.anon += anon
		m.pss += pss
	}
	return m, nil
}
