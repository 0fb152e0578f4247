package cli

import (
	"bufio"
	"fmt"
	"hash/fnv"
	"io"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

// ANSI escapes used in terminal mode only.
const (
	escReset     = "\x1b[0m"
	escBold      = "\x1b[1m"
	escDim       = "\x1b[2m"
	escRed       = "\x1b[31m"
	escGreen     = "\x1b[32m"
	escYellow    = "\x1b[33m"
	escClearDown = "\x1b[J"
)

// podColours are the colours pod-name prefixes cycle through.
var podColours = [...]string{"\x1b[36m", "\x1b[35m", "\x1b[34m", "\x1b[33m", "\x1b[32m", "\x1b[96m"}

// display writes log lines and progress. In terminal mode the progress lines stay at the
// bottom and are redrawn in place; in plain mode a progress line is printed whenever a
// Job's counts change, with no escape codes.
type display struct {
	out      io.Writer
	terminal bool
	quiet    bool

	drawn    int               // progress lines currently on screen (terminal mode)
	progress []string          // the progress lines last drawn
	lastLine map[string]string // plain mode: last progress text per Job
}

func newDisplay(out io.Writer, terminal, quiet bool) *display {
	return &display{out: out, terminal: terminal, quiet: quiet, lastLine: map[string]string{}}
}

func (d *display) colour(code, s string) string {
	if !d.terminal {
		return s
	}
	return code + s + escReset
}

// clearProgress removes the progress block from the screen.
func (d *display) clearProgress() {
	if d.terminal && d.drawn > 0 {
		fmt.Fprintf(d.out, "\x1b[%dA\r%s", d.drawn, escClearDown)
		d.drawn = 0
	}
}

func (d *display) drawProgress() {
	if !d.terminal {
		return
	}
	for _, l := range d.progress {
		fmt.Fprintln(d.out, l)
	}
	d.drawn = len(d.progress)
}

// log prints one container log line, prefixed with its pod and attempt.
func (d *display) log(l logLine) {
	if d.quiet {
		return
	}
	prefix := l.pod
	if l.multi {
		prefix += "/" + l.container
	}
	prefix = fmt.Sprintf("%s #%d", prefix, l.attempt)
	if d.terminal {
		h := fnv.New32a()
		h.Write([]byte(l.pod))
		prefix = podColours[h.Sum32()%uint32(len(podColours))] + prefix + escReset
	}
	d.clearProgress()
	fmt.Fprintf(d.out, "%s | %s\n", prefix, l.text)
	d.drawProgress()
}

// update shows the current progress of every target.
func (d *display) update(jobs []jobView, pods []podView, now time.Time) {
	if d.quiet {
		return
	}
	var lines []string
	for _, v := range jobs {
		lines = append(lines, d.jobProgress(v, now))
	}
	for _, v := range pods {
		lines = append(lines, d.podProgress(v))
	}
	if d.terminal {
		d.clearProgress()
		d.progress = lines
		d.drawProgress()
		return
	}
	for i, l := range lines {
		key := fmt.Sprint(i)
		// Elapsed time changes every tick; plain mode prints only real changes.
		stable := stripElapsed(l)
		if d.lastLine[key] != stable {
			d.lastLine[key] = stable
			fmt.Fprintln(d.out, l)
		}
	}
}

// stripElapsed drops the trailing elapsed-time field of a progress line.
func stripElapsed(line string) string {
	if i := strings.LastIndex(line, ", elapsed "); i >= 0 {
		return line[:i]
	}
	return line
}

func (d *display) jobProgress(v jobView, now time.Time) string {
	name := "job/" + v.name
	if v.job == nil {
		return d.colour(escRed, name+": deleted")
	}
	j := v.job
	completions := "1"
	if j.Spec.Completions != nil {
		completions = fmt.Sprint(*j.Spec.Completions)
	}
	backoff := int32(6)
	if j.Spec.BackoffLimit != nil {
		backoff = *j.Spec.BackoffLimit
	}
	ready := int32(0)
	if j.Status.Ready != nil {
		ready = *j.Status.Ready
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s, active %d, ready %d, succeeded %d/%s, failed %d/%d",
		d.colour(escBold, name), d.jobState(v), j.Status.Active, ready, j.Status.Succeeded, completions, j.Status.Failed, backoff)
	if j.Spec.CompletionMode != nil && *j.Spec.CompletionMode == batchv1.IndexedCompletion {
		done := j.Status.CompletedIndexes
		if done == "" {
			done = "none"
		}
		fmt.Fprintf(&b, ", indexes done %s", done)
	}
	if v.backoffNote != "" {
		fmt.Fprintf(&b, ", %s", d.colour(escYellow, "waiting: "+v.backoffNote))
	}
	if j.Status.StartTime != nil {
		end := now
		if j.Status.CompletionTime != nil {
			end = j.Status.CompletionTime.Time
		}
		fmt.Fprintf(&b, ", elapsed %s", duration.HumanDuration(end.Sub(j.Status.StartTime.Time)))
	}
	return b.String()
}

func (d *display) jobState(v jobView) string {
	done, failed := v.finished()
	switch {
	case done && failed:
		return d.colour(escRed, "Failed")
	case done:
		return d.colour(escGreen, "Complete")
	}
	for _, c := range v.job.Status.Conditions {
		if c.Type == batchv1.JobSuspended && c.Status == corev1.ConditionTrue {
			return "Suspended"
		}
	}
	return "Running"
}

func (d *display) podProgress(v podView) string {
	name := "pod/" + v.name
	if v.pod == nil {
		return d.colour(escRed, name+": deleted")
	}
	return fmt.Sprintf("%s: %s", d.colour(escBold, name), v.pod.Status.Phase)
}

// summary prints the final outcome of every target.
func (d *display) summary(jobs []jobView, pods []podView, now time.Time) {
	d.clearProgress()
	d.progress = nil
	for _, v := range jobs {
		d.jobSummary(v, now)
	}
	for _, v := range pods {
		done, failed := v.finished()
		state := "did not finish"
		if v.pod != nil {
			state = string(v.pod.Status.Phase)
		}
		colour := escGreen
		if !done || failed {
			colour = escRed
		}
		fmt.Fprintf(d.out, "%s %s\n", d.colour(escBold, "pod/"+v.name), d.colour(colour, state))
		if v.pod != nil && failed {
			d.failedPod(v.pod)
		}
	}
}

func (d *display) jobSummary(v jobView, now time.Time) {
	name := d.colour(escBold, "job/"+v.name)
	if v.job == nil {
		fmt.Fprintf(d.out, "%s %s\n", name, d.colour(escRed, "was deleted before it finished"))
		return
	}
	j := v.job
	done, failed := v.finished()
	outcome, colour := "Complete", escGreen
	switch {
	case failed:
		outcome, colour = "Failed", escRed
	case !done:
		outcome, colour = "Unfinished", escYellow
	}
	line := fmt.Sprintf("%s %s", name, d.colour(colour, outcome))
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			line += fmt.Sprintf(" (%s: %s)", c.Reason, c.Message)
		}
	}
	completions := "1"
	if j.Spec.Completions != nil {
		completions = fmt.Sprint(*j.Spec.Completions)
	}
	line += fmt.Sprintf(": succeeded %d/%s, failed %d", j.Status.Succeeded, completions, j.Status.Failed)
	if j.Status.StartTime != nil {
		end := now
		if j.Status.CompletionTime != nil {
			end = j.Status.CompletionTime.Time
		}
		line += ", took " + end.Sub(j.Status.StartTime.Time).Round(10*time.Millisecond).String()
	}
	fmt.Fprintln(d.out, line)
	for _, p := range v.pods {
		if p.Status.Phase == corev1.PodFailed {
			d.failedPod(p)
		}
	}
}

// failedPod prints one failed pod's containers' exit codes and reasons.
func (d *display) failedPod(p *corev1.Pod) {
	var parts []string
	for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		t := cs.State.Terminated
		if t == nil {
			t = cs.LastTerminationState.Terminated
		}
		if t == nil || t.ExitCode == 0 {
			continue
		}
		part := fmt.Sprintf("%s exit code %d (%s)", cs.Name, t.ExitCode, t.Reason)
		if t.Message != "" {
			part += ": " + strings.TrimSpace(t.Message)
		}
		parts = append(parts, part)
	}
	if p.Status.Reason != "" {
		parts = append(parts, fmt.Sprintf("%s: %s", p.Status.Reason, p.Status.Message))
	}
	if len(parts) == 0 {
		parts = append(parts, "failed")
	}
	fmt.Fprintf(d.out, "  %s %s\n", d.colour(escDim, "pod/"+p.Name), strings.Join(parts, "; "))
}

// scanLines calls fn for each line of r (without the newline), including a last
// unterminated line. Long lines are split rather than dropped.
func scanLines(r io.Reader, fn func(string)) {
	br := bufio.NewReaderSize(r, 64*1024)
	for {
		line, err := br.ReadString('\n')
		if len(line) > 0 {
			fn(strings.TrimRight(line, "\r\n"))
		}
		if err != nil {
			return
		}
	}
}
