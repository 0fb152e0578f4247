package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
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
	// As the build left the binary: a binary just written (by go build) sits in the page
	// cache in the large folios its writes made, which this kernel maps whole.
	built, err := b.idleRSSRounds(ctx, dataDir)
	if err != nil {
		return err
	}
	// As an installed binary is: its page cache filled by exec and page faults.
	if err := evictFromPageCache(b.opts.Kjet); err != nil {
		return err
	}
	read, err := b.idleRSSRounds(ctx, dataDir)
	if err != nil {
		return err
	}
	total, base := medianFloat(built.totals), medianFloat(built.versions)
	readTotal := medianFloat(read.totals)
	b.rows = append(b.rows,
		row{
			Scenario: "4 idle RSS", Metric: "VmRSS server + supervisor, 1 s after ready (median), the binary's page cache as its build left it",
			Figure: mb(int64(total)), Baseline: mb(int64(base)) + " (`kjet version` peak)", Ratio: ratio(total, base),
			Target: "< 60 MB", Met: met(total < 60*1024),
			Notes: fmt.Sprintf("%d starts; server %s, supervisor %s (the supervisor is the same binary: most of its RSS is the binary's pages, shared with the server)",
				len(built.totals), mb(int64(medianFloat(built.servers))), mb(int64(medianFloat(built.supervisors)))),
		},
		row{
			Scenario: "4 idle RSS", Metric: "the same, the binary evicted from the page cache first (read back from disk, as an installed binary is)",
			Figure: mb(int64(readTotal)), Baseline: mb(int64(medianFloat(read.versions))) + " (`kjet version` peak)", Ratio: ratio(readTotal, medianFloat(read.versions)),
			Target: "(< 60 MB)", Met: met(readTotal < 60*1024),
			Notes: fmt.Sprintf("%d starts; server %s, supervisor %s", len(read.totals), mb(int64(medianFloat(read.servers))), mb(int64(medianFloat(read.supervisors)))),
		},
		row{
			Scenario: "4 idle RSS", Metric: "private memory: RssAnon server + supervisor; PSS sum",
			Figure: mb(int64(medianFloat(built.anons))) + "; PSS " + mb(int64(medianFloat(built.psss))),
			Target: "(< 60 MB)", Met: met(medianFloat(built.psss) < 60*1024),
			Notes: fmt.Sprintf("RssAnon counts no file pages; PSS shares the binary's pages between the two processes; read back from disk: %s; PSS %s",
				mb(int64(medianFloat(read.anons))), mb(int64(medianFloat(read.psss)))),
		},
	)
	return nil
}

// idleRSSSamples are the idle memory figures of several starts, in kB.
type idleRSSSamples struct {
	servers, supervisors, totals, anons, psss, versions []float64
}

// idleRSSRounds starts the server b.opts.Rounds times on dataDir and reads its idle
// memory, and the peak RSS of `kjet version` after each.
func (b *bench) idleRSSRounds(ctx context.Context, dataDir string) (idleRSSSamples, error) {
	var out idleRSSSamples
	for i := 0; i < b.opts.Rounds; i++ {
		s, err := b.startServer(ctx, dataDir)
		if err != nil {
			return out, err
		}
		m, err := idleRSSOf(s)
		s.stop()
		if err != nil {
			return out, err
		}
		out.servers = append(out.servers, float64(m.server))
		out.supervisors = append(out.supervisors, float64(m.supervisor))
		out.totals = append(out.totals, float64(m.server+m.supervisor))
		out.anons = append(out.anons, float64(m.anon))
		out.psss = append(out.psss, float64(m.pss))
		_, v, err := b.timeVersion(ctx)
		if err != nil {
			return out, err
		}
		out.versions = append(out.versions, float64(v))
	}
	return out, nil
}

// evictFromPageCache writes back and drops the page cache of the file at path, so that
// the next process to run it reads it from disk (pages still mapped stay).
func evictFromPageCache(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	defer f.Close()
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		return fmt.Errorf("writing back %s: %w", path, err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return fmt.Errorf("evicting %s from the page cache: %w", path, err)
	}
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
