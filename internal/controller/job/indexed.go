package job

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// Indexed completion mode: completion indexes, their interval notation
// (status.completedIndexes/failedIndexes) and the per-index failure counts of
// backoffLimitPerIndex.

const (
	noIndex            = -1
	completionIndexEnv = "JOB_COMPLETION_INDEX"
	// maxGenerateNamePrefix is the longest generateName the API server keeps
	// before appending its random suffix.
	maxGenerateNamePrefix = 58
)

func isIndexed(job *batchv1.Job) bool {
	return job.Spec.CompletionMode != nil && *job.Spec.CompletionMode == batchv1.IndexedCompletion
}

func hasBackoffLimitPerIndex(job *batchv1.Job) bool {
	return isIndexed(job) && job.Spec.BackoffLimitPerIndex != nil
}

// completionIndex returns the pod's index from its annotation (falling back
// to the label), or noIndex.
func completionIndex(pod *corev1.Pod) int {
	v, ok := pod.Annotations[batchv1.JobCompletionIndexAnnotation]
	if !ok {
		v, ok = pod.Labels[batchv1.JobCompletionIndexAnnotation]
	}
	if !ok {
		return noIndex
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 {
		return noIndex
	}
	return i
}

// sortByCompletionIndex orders pods by completion index, keeping the order of pods
// with the same index (and of those with none, which sort first). Each pod's index is
// read once: a comparator that parses annotations costs a Job of thousands of pods
// tens of thousands of map lookups per sync.
func sortByCompletionIndex(pods []*corev1.Pod) {
	byIndex := make([]indexedPod, len(pods))
	for i, p := range pods {
		byIndex[i] = indexedPod{index: completionIndex(p), pod: p}
	}
	slices.SortStableFunc(byIndex, func(a, b indexedPod) int { return cmp.Compare(a.index, b.index) })
	for i := range byIndex {
		pods[i] = byIndex[i].pod
	}
}

type indexedPod struct {
	index int
	pod   *corev1.Pod
}

// validIndex reports whether pod's index lies in [0, completions).
func validIndex(job *batchv1.Job, pod *corev1.Pod) bool {
	ix := completionIndex(pod)
	return ix != noIndex && ix < int(completionsOf(job))
}

func annotationInt(pod *corev1.Pod, key string) int32 {
	v, err := strconv.Atoi(pod.Annotations[key])
	if err != nil || v < 0 {
		return 0
	}
	return int32(v)
}

// indexFailureCount is the failures of the pod's index before this pod.
func indexFailureCount(pod *corev1.Pod) int32 {
	return annotationInt(pod, batchv1.JobIndexFailureCountAnnotation)
}

// indexAbsoluteFailureCount adds the ignored failures.
func indexAbsoluteFailureCount(pod *corev1.Pod) int32 {
	return indexFailureCount(pod) + annotationInt(pod, batchv1.JobIndexIgnoredFailureCountAnnotation)
}

// interval is a closed range of indexes.
type interval struct{ first, last int }

// indexSet is a sorted list of disjoint, non-adjacent intervals.
type indexSet []interval

// parseIndexSet reads "1,3-5,7" ignoring indexes ≥ limit and bad parts.
func parseIndexSet(s string, limit int) indexSet {
	var out []int
	if s == "" {
		return nil
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				continue
			}
		}
		for i := a; i <= b && i < limit; i++ {
			out = append(out, i)
		}
	}
	sort.Ints(out)
	return indexSet(nil).with(out)
}

// with returns the set plus the sorted indexes ixs.
func (s indexSet) with(ixs []int) indexSet {
	var out indexSet
	add := func(iv interval) {
		if n := len(out); n > 0 && iv.first <= out[n-1].last+1 {
			out[n-1].last = max(out[n-1].last, iv.last)
			return
		}
		out = append(out, iv)
	}
	i := 0
	for _, iv := range s {
		for ; i < len(ixs) && ixs[i] < iv.first; i++ {
			add(interval{ixs[i], ixs[i]})
		}
		add(iv)
	}
	for ; i < len(ixs); i++ {
		add(interval{ixs[i], ixs[i]})
	}
	return out
}

// union merges two sets.
func (s indexSet) union(o indexSet) indexSet {
	var ixs []int
	for _, iv := range o {
		for i := iv.first; i <= iv.last; i++ {
			ixs = append(ixs, i)
		}
	}
	return s.with(ixs)
}

func (s indexSet) has(ix int) bool {
	i := sort.Search(len(s), func(i int) bool { return s[i].last >= ix })
	return i < len(s) && s[i].first <= ix
}

func (s indexSet) total() int {
	n := 0
	for _, iv := range s {
		n += iv.last - iv.first + 1
	}
	return n
}

// String writes runs of three or more as "a-b" and a run of two as "a,b".
func (s indexSet) String() string {
	var b strings.Builder
	for _, iv := range s {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(iv.first))
		switch {
		case iv.last == iv.first+1:
			b.WriteByte(',')
			b.WriteString(strconv.Itoa(iv.last))
		case iv.last > iv.first:
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(iv.last))
		}
	}
	return b.String()
}

// succeededIndexes returns the previously recorded completed indexes and
// those plus the indexes of succeeded pods not yet counted.
func succeededIndexes(job *batchv1.Job, pods []*corev1.Pod) (prev, cur indexSet) {
	completions := int(completionsOf(job))
	prev = parseIndexSet(job.Status.CompletedIndexes, completions)
	var fresh []int
	seen := map[int]bool{}
	for _, p := range pods {
		// Pods already counted have lost their finalizer: no need to read their index.
		if p.Status.Phase != corev1.PodSucceeded || !hasTrackingFinalizer(p) {
			continue
		}
		if ix := completionIndex(p); ix != noIndex && ix < completions && !seen[ix] {
			seen[ix] = true
			fresh = append(fresh, ix)
		}
	}
	sort.Ints(fresh)
	return prev, prev.with(fresh)
}

// failedIndexes returns the indexes that may get no more pods: their
// backoffLimitPerIndex is used up or a FailIndex rule matched.
func failedIndexes(job *batchv1.Job, pods []*corev1.Pod) indexSet {
	completions := int(completionsOf(job))
	var prev indexSet
	if job.Status.FailedIndexes != nil {
		prev = parseIndexSet(*job.Status.FailedIndexes, completions)
	}
	var fresh []int
	for _, p := range pods {
		if ix := completionIndex(p); ix != noIndex && ix < completions && isIndexFailed(job, p) {
			fresh = append(fresh, ix)
		}
	}
	sort.Ints(fresh)
	return prev.with(fresh)
}

func isIndexFailed(job *batchv1.Job, pod *corev1.Pod) bool {
	if !isPodFailed(pod, job) {
		return false
	}
	m := matchPodFailurePolicy(job.Spec.PodFailurePolicy, pod)
	if m.action == batchv1.PodFailurePolicyActionFailIndex {
		return true
	}
	return m.countFailed && indexFailureCount(pod) >= *job.Spec.BackoffLimitPerIndex
}

// lastFailedPodPerIndex returns, per index still to be retried, the failed
// pod whose finalizer is kept until its replacement exists, so its failure
// count can be carried over.
func lastFailedPodPerIndex(sc *syncContext) map[int]*corev1.Pod {
	out := map[int]*corev1.Pod{}
	if sc.finishedCondition != nil {
		return out
	}
	active := map[int]bool{}
	for _, p := range sc.activePods {
		active[completionIndex(p)] = true
	}
	for _, p := range sc.newPods() {
		if !isPodFailed(p, sc.job) {
			continue
		}
		ix := completionIndex(p)
		if sc.failedIndexes.has(ix) || active[ix] {
			continue
		}
		last, ok := out[ix]
		if !ok || (indexAbsoluteFailureCount(last) <= indexAbsoluteFailureCount(p) && !finishedTime(p).Before(finishedTime(last))) {
			out[ix] = p
		}
	}
	return out
}

// newIndexFailureCounts are the annotations for the replacement of failed.
func newIndexFailureCounts(job *batchv1.Job, failed *corev1.Pod) (count, ignored int32) {
	if failed == nil {
		return 0, 0
	}
	count, ignored = indexFailureCount(failed), annotationInt(failed, batchv1.JobIndexIgnoredFailureCountAnnotation)
	if matchPodFailurePolicy(job.Spec.PodFailurePolicy, failed).countFailed {
		count++
	} else {
		ignored++
	}
	return count, ignored
}

// pendingIndexes returns up to count of the lowest indexes in
// [0, completions) that are neither succeeded, active, failed nor (with
// replacement policy Failed) terminating.
func pendingIndexes(sc *syncContext, count int) []int {
	if count <= 0 {
		return nil
	}
	busy := map[int]bool{}
	for _, p := range sc.activePods {
		busy[completionIndex(p)] = true
	}
	if onlyReplaceFailedPods(sc.job) {
		for _, p := range sc.pods {
			if isTerminating(p) {
				busy[completionIndex(p)] = true
			}
		}
	}
	completions := int(completionsOf(sc.job))
	out := make([]int, 0, min(count, completions))
	for ix := 0; ix < completions && len(out) < count; ix++ {
		if busy[ix] || sc.succeededIndexes.has(ix) || sc.failedIndexes.has(ix) {
			continue
		}
		out = append(out, ix)
	}
	return out
}

// indexedPodsForRemoval picks the active pods that must go regardless of
// counts: index-less or out-of-range pods, pods of already completed indexes,
// and all but one pod of a duplicated index. The rest are returned as kept.
func indexedPodsForRemoval(sc *syncContext, pods []*corev1.Pod) (rm, kept []*corev1.Pod) {
	byIndex := map[int][]*corev1.Pod{}
	var order []int
	completions := int(completionsOf(sc.job))
	for _, p := range pods {
		ix := completionIndex(p)
		if ix == noIndex || ix >= completions || sc.succeededIndexes.has(ix) {
			rm = append(rm, p)
			continue
		}
		if _, ok := byIndex[ix]; !ok {
			order = append(order, ix)
		}
		byIndex[ix] = append(byIndex[ix], p)
	}
	sort.Ints(order)
	for _, ix := range order {
		same := byIndex[ix]
		if len(same) > 1 {
			sortForDeletion(same)
			rm = append(rm, same[:len(same)-1]...)
		}
		kept = append(kept, same[len(same)-1])
	}
	return rm, kept
}

// podGenerateName is "<job>-" or, Indexed, "<job>-<i>-" with the job name cut
// so the prefix fits.
func podGenerateName(job *batchv1.Job, ix int) string {
	if ix == noIndex {
		return job.Name + "-"
	}
	tail := fmt.Sprintf("-%d-", ix)
	name := job.Name
	if len(name)+len(tail) > maxGenerateNamePrefix {
		name = name[:max(0, maxGenerateNamePrefix-len(tail))]
	}
	return name + tail
}

// addCompletionIndexEnv adds JOB_COMPLETION_INDEX (from the index label) to
// every container and init container that does not define it.
func addCompletionIndexEnv(spec *corev1.PodSpec) {
	add := func(cs []corev1.Container) {
		for i := range cs {
			defined := false
			for _, e := range cs[i].Env {
				if e.Name == completionIndexEnv {
					defined = true
					break
				}
			}
			if !defined {
				cs[i].Env = append(cs[i].Env, corev1.EnvVar{
					Name: completionIndexEnv,
					ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
						APIVersion: "v1",
						FieldPath:  fmt.Sprintf("metadata.labels['%s']", batchv1.JobCompletionIndexAnnotation),
					}},
				})
			}
		}
	}
	add(spec.InitContainers)
	add(spec.Containers)
}
