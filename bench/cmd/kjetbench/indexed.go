package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	batchclient "k8s.io/client-go/kubernetes/typed/batch/v1"
)

// indexedJob runs an Indexed Job of `true` pods from create to Complete, and records the
// server's and supervisor's CPU time per pod and their peak RSS; the baseline spawns as
// many `true` processes from Go at the Job's parallelism.
func (b *bench) indexedJob(ctx context.Context) error {
	n, par := b.opts.Completions, b.opts.Parallelism
	return b.withServer(ctx, "indexed", func(s *server) error {
		cs, _, err := s.client()
		if err != nil {
			return err
		}
		sup, err := s.waitSupervisor(10 * time.Second)
		if err != nil {
			return err
		}
		srvPID := s.cmd.Process.Pid
		srv0, err := cpuOf(srvPID)
		if err != nil {
			return err
		}
		sup0, err := cpuOf(sup)
		if err != nil {
			return err
		}
		rev0, err := storeRevision(ctx, cs)
		if err != nil {
			return err
		}
		jobs := cs.BatchV1().Jobs(benchNamespace)
		const name = "indexed"
		list, err := jobs.List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()})
		if err != nil {
			return fmt.Errorf("listing jobs: %w", err)
		}
		wctx, cancel := context.WithTimeout(ctx, b.opts.IndexedTimeout)
		defer cancel()
		start := time.Now()
		if _, err := jobs.Create(ctx, indexedJob(name, n, par), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating job: %w", err)
		}
		last, complete, err := waitJob(wctx, jobs, name, list.ResourceVersion)
		if err != nil && wctx.Err() == nil {
			return err
		}
		wall := time.Since(start)
		srv1, err := cpuOf(srvPID)
		if err != nil {
			return err
		}
		sup1, err := cpuOf(sup)
		if err != nil {
			return err
		}
		rev1, err := storeRevision(ctx, cs)
		if err != nil {
			return err
		}
		hwm, err := statusKB(srvPID, "VmHWM")
		if err != nil {
			return err
		}
		supHWM, err := statusKB(sup, "VmHWM")
		if err != nil {
			return err
		}
		if !complete {
			succeeded := int32(0)
			if last != nil {
				succeeded = last.Status.Succeeded
			}
			b.rows = append(b.rows, row{
				Scenario: "6 Indexed Job", Metric: fmt.Sprintf("completions %d, parallelism %d, create to Complete", n, par),
				Figure: fmt.Sprintf("not Complete after %s (%d succeeded)", wall.Round(time.Millisecond), succeeded),
				Target: "<= 1.5x", Met: "no",
			})
			return nil
		}
		base, err := spawnTrue(n, par)
		if err != nil {
			return err
		}
		srvCPU, supCPU := srv1-srv0, sup1-sup0
		cpu := srvCPU + supCPU
		b.rows = append(b.rows,
			row{
				Scenario: "6 Indexed Job", Metric: fmt.Sprintf("completions %d, parallelism %d, create to Complete", n, par),
				Figure:   fmt.Sprintf("%s (%s/pod)", ms(wall), ms(wall/time.Duration(n))),
				Baseline: fmt.Sprintf("%s (%d x os/exec `true` at concurrency %d)", ms(base), n, par),
				Ratio:    ratio(float64(wall), float64(base)), Target: "<= 1.5x", Met: met(float64(wall) <= 1.5*float64(base)),
			},
			row{
				Scenario: "6 Indexed Job", Metric: "server + supervisor CPU time per pod",
				Figure: ms(cpu / time.Duration(n)),
				Notes: fmt.Sprintf("%s CPU over %s wall (%.2f cores); server %s + supervisor %s per pod; utime+stime, pods themselves excluded; %s",
					ms(cpu), ms(wall), cpu.Seconds()/wall.Seconds(), ms(srvCPU/time.Duration(n)), ms(supCPU/time.Duration(n)), writesPer(rev0, rev1, n, "pod")),
			},
			row{
				Scenario: "6 Indexed Job", Metric: "peak RSS (VmHWM) server / supervisor",
				Figure: mb(hwm) + " / " + mb(supHWM),
			},
		)
		return nil
	})
}

// waitJob watches Job name from resourceVersion until it is Complete or Failed, watching
// again from the last version seen whenever the server ends a watch. It returns the last
// Job seen and whether it completed; a done ctx ends the wait early.
func waitJob(ctx context.Context, jobs batchclient.JobInterface, name, resourceVersion string) (*batchv1.Job, bool, error) {
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	var last *batchv1.Job
	for {
		w, err := jobs.Watch(ctx, metav1.ListOptions{FieldSelector: sel, ResourceVersion: resourceVersion})
		if err != nil {
			return last, false, fmt.Errorf("watching job %s: %w", name, err)
		}
		for ev := range w.ResultChan() {
			if ev.Type == watch.Error {
				resourceVersion = "" // e.g. too old: start again from the current state
				continue
			}
			j, ok := ev.Object.(*batchv1.Job)
			if !ok {
				continue
			}
			last, resourceVersion = j, j.ResourceVersion
			if finished, complete := jobFinished(j); finished {
				w.Stop()
				return last, complete, nil
			}
		}
		w.Stop()
		if ctx.Err() != nil {
			return last, false, ctx.Err()
		}
	}
}

// cpuOf is the summed CPU time of the given pids.
func cpuOf(pids ...int) (time.Duration, error) {
	var total time.Duration
	for _, pid := range pids {
		d, err := cpuTime(pid)
		if err != nil {
			return 0, err
		}
		total += d
	}
	return total, nil
}

const oneTrueJob = `apiVersion: batch/v1
kind: Job
metadata:
  name: bench-true
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox
        command: ["true"]
`

// runColdStart times `kjet run -f` of a one-pod Job of `true` from exec to exit (with an
// embedded server on a temporary data dir), against running `true` directly.
func (b *bench) runColdStart(ctx context.Context) error {
	root, err := os.MkdirTemp("", "kjetbench-run-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(root)
	manifest := filepath.Join(root, "job.yaml")
	if err := os.WriteFile(manifest, []byte(oneTrueJob), 0o600); err != nil {
		return fmt.Errorf("writing manifest: %w", err)
	}
	home := filepath.Join(root, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return fmt.Errorf("creating home: %w", err)
	}
	// No kjet server answers on this data dir and no KUBECONFIG is set: kjet run must
	// start its embedded server.
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "KJET_DATA_DIR=" + filepath.Join(home, "kjet")}
	var runs, trues []time.Duration
	for i := 0; i < b.opts.Runs; i++ {
		cmd := exec.CommandContext(ctx, b.opts.Kjet, "run", "-q", "-f", manifest)
		cmd.Env = env
		cmd.Dir = root
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("kjet run: %w: %s", err, out)
		}
		runs = append(runs, time.Since(start))
		t := time.Now()
		if err := exec.CommandContext(ctx, "true").Run(); err != nil {
			return fmt.Errorf("running true: %w", err)
		}
		trues = append(trues, time.Since(t))
	}
	fig, base := median(runs), median(trues)
	added := fig - base
	b.rows = append(b.rows, row{
		Scenario: "7 `kjet run` cold start", Metric: "one-pod Job of `true`, exec to exit (median)",
		Figure: ms(fig) + fmt.Sprintf(" (+%s)", ms(added)), Baseline: ms(base) + " (`true` directly)",
		Ratio: ratio(float64(fig), float64(base)), Target: "< 300 ms added", Met: met(added < 300*time.Millisecond),
		Notes: fmt.Sprintf("%d runs; min %s, max %s", len(runs), ms(percentile(runs, 0)), ms(percentile(runs, 100))),
	})
	return nil
}
