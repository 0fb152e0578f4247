package job

import (
	"maps"
	"sort"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

type syncWant struct {
	created        int
	createdIndexes string // index labels of created pods, comma separated
	deleted        string // names, comma separated
	finalizersOff  int
	active         int32
	ready          int32
	succeeded      int32
	failed         int32
	terminating    int32
	completed      string  // status.completedIndexes
	failedIndexes  *string // status.failedIndexes
	conditions     string  // condSummary of the final status
	events         map[string]int
	noStatusWrite  bool
	noStartTime    bool
}

func TestSyncJob(t *testing.T) {
	long := testNow.Add(-time.Hour)
	cases := map[string]struct {
		job  *batchv1.Job
		pods func(*batchv1.Job) []*corev1.Pod
		want syncWant
	}{
		// --- the three patterns ---
		"non-parallel job creates one pod": {
			job:  newJob("j", 1, 1),
			want: syncWant{created: 1, active: 1, events: map[string]int{"SuccessfulCreate": 1}},
		},
		"fixed completions create parallelism pods": {
			job:  newJob("j", 3, 5),
			want: syncWant{created: 3, active: 3, events: map[string]int{"SuccessfulCreate": 3}},
		},
		"fixed completions never exceed the completions left": {
			job:  newJob("j", 3, 5),
			pods: func(j *batchv1.Job) []*corev1.Pod { return pods(j, "s", 3, corev1.PodSucceeded) },
			want: syncWant{created: 2, active: 2, succeeded: 3, finalizersOff: 3, events: map[string]int{"SuccessfulCreate": 2}},
		},
		"fixed completions complete when reached": {
			job:  newJob("j", 2, 2),
			pods: func(j *batchv1.Job) []*corev1.Pod { return pods(j, "s", 2, corev1.PodSucceeded) },
			want: syncWant{succeeded: 2, finalizersOff: 2,
				conditions: "SuccessCriteriaMet=True/CompletionsReached,Complete=True/CompletionsReached",
				events:     map[string]int{"Completed": 1}},
		},
		"too many succeeded pods warn at completion": {
			job:  newJob("j", 1, 2),
			pods: func(j *batchv1.Job) []*corev1.Pod { return pods(j, "s", 3, corev1.PodSucceeded) },
			want: syncWant{succeeded: 3, finalizersOff: 3,
				conditions: "SuccessCriteriaMet=True/CompletionsReached,Complete=True/CompletionsReached",
				events:     map[string]int{"Completed": 1, "TooManySucceededPods": 1}},
		},
		"completions 0 completes at once without pods": {
			job: newJob("j", 1, 0),
			want: syncWant{conditions: "SuccessCriteriaMet=True/CompletionsReached,Complete=True/CompletionsReached",
				events: map[string]int{"Completed": 1}},
		},
		"parallelism 0 runs nothing and stays running": {
			job:  newJob("j", 0, 5),
			want: syncWant{},
		},
		"work queue creates parallelism pods": {
			job:  newJob("j", 3, 0, workQueue),
			want: syncWant{created: 3, active: 3, events: map[string]int{"SuccessfulCreate": 3}},
		},
		"work queue creates nothing after the first success": {
			job: newJob("j", 3, 0, workQueue),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{newPod(j, "a", corev1.PodSucceeded), newPod(j, "b", corev1.PodRunning)}
			},
			want: syncWant{active: 1, succeeded: 1, finalizersOff: 1},
		},
		"work queue completes when a pod succeeded and all ended": {
			job: newJob("j", 3, 0, workQueue),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return append(pods(j, "f", 2, corev1.PodFailed, finishedAt(long)), newPod(j, "a", corev1.PodSucceeded))
			},
			want: syncWant{succeeded: 1, failed: 2, finalizersOff: 3,
				conditions: "SuccessCriteriaMet=True/CompletionsReached,Complete=True/CompletionsReached",
				events:     map[string]int{"Completed": 1}},
		},
		"ready pods are counted": {
			job: newJob("j", 2, 5),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{newPod(j, "a", corev1.PodRunning, ready), newPod(j, "b", corev1.PodRunning)}
			},
			want: syncWant{active: 2, ready: 1},
		},
		// --- parallelism changes ---
		"parallelism up creates the difference": {
			job:  newJob("j", 3, 5),
			pods: func(j *batchv1.Job) []*corev1.Pod { return pods(j, "r", 1, corev1.PodRunning) },
			want: syncWant{created: 2, active: 3, events: map[string]int{"SuccessfulCreate": 2}},
		},
		"parallelism down deletes the surplus, not failures": {
			job:  newJob("j", 1, 5),
			pods: func(j *batchv1.Job) []*corev1.Pod { return pods(j, "r", 3, corev1.PodRunning, ready) },
			want: syncWant{deleted: "r0,r1", finalizersOff: 2, active: 1, ready: 1, terminating: 2, events: map[string]int{"SuccessfulDelete": 2}},
		},
		"scale down prefers unscheduled, then not ready pods": {
			job: newJob("j", 1, 5),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{
					newPod(j, "ready", corev1.PodRunning, ready),
					newPod(j, "notready", corev1.PodRunning),
					newPod(j, "unscheduled", corev1.PodPending, unscheduled),
				}
			},
			want: syncWant{deleted: "notready,unscheduled", finalizersOff: 2, active: 1, ready: 1, terminating: 2, events: map[string]int{"SuccessfulDelete": 2}},
		},
		// --- failures, back-off, backoffLimit ---
		"failed pod is counted and replaced after the back-off": {
			job: newJob("j", 1, 1),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return pods(j, "f", 1, corev1.PodFailed, finishedAt(testNow.Add(-11*time.Second)))
			},
			want: syncWant{created: 1, active: 1, failed: 1, finalizersOff: 1, events: map[string]int{"SuccessfulCreate": 1}},
		},
		"failed pod within the back-off is not replaced yet": {
			job: newJob("j", 1, 1),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return pods(j, "f", 1, corev1.PodFailed, finishedAt(testNow.Add(-2*time.Second)))
			},
			want: syncWant{failed: 1, finalizersOff: 1, events: map[string]int{"BackoffWaiting": 1}},
		},
		"second failure doubles the back-off": {
			job: newJob("j", 1, 1),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{
					newPod(j, "f1", corev1.PodFailed, finishedAt(testNow.Add(-40*time.Second))),
					newPod(j, "f2", corev1.PodFailed, finishedAt(testNow.Add(-15*time.Second))),
				}
			},
			want: syncWant{failed: 2, finalizersOff: 2, events: map[string]int{"BackoffWaiting": 1}},
		},
		"a success resets the back-off": {
			job: newJob("j", 1, 3),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{
					newPod(j, "f1", corev1.PodFailed, finishedAt(testNow.Add(-40*time.Second))),
					newPod(j, "f2", corev1.PodFailed, finishedAt(testNow.Add(-30*time.Second))),
					newPod(j, "s", corev1.PodSucceeded, finishedAt(testNow.Add(-20*time.Second))),
					newPod(j, "f3", corev1.PodFailed, finishedAt(testNow.Add(-12*time.Second))),
				}
			},
			want: syncWant{created: 1, active: 1, failed: 3, succeeded: 1, finalizersOff: 4, events: map[string]int{"SuccessfulCreate": 1}},
		},
		"backoffLimit N fails on failure N+1": {
			job:  newJob("j", 1, 1, backoffLimit(2)),
			pods: func(j *batchv1.Job) []*corev1.Pod { return pods(j, "f", 3, corev1.PodFailed, finishedAt(long)) },
			want: syncWant{failed: 3, finalizersOff: 3,
				conditions: "FailureTarget=True/BackoffLimitExceeded,Failed=True/BackoffLimitExceeded",
				events:     map[string]int{"BackoffLimitExceeded": 1}},
		},
		"backoffLimit N is not exceeded by N failures": {
			job:  newJob("j", 1, 1, backoffLimit(2)),
			pods: func(j *batchv1.Job) []*corev1.Pod { return pods(j, "f", 2, corev1.PodFailed, finishedAt(long)) },
			want: syncWant{created: 1, active: 1, failed: 2, finalizersOff: 2, events: map[string]int{"SuccessfulCreate": 1}},
		},
		"backoffLimit counts failures already in status": {
			job: newJob("j", 1, 1, backoffLimit(2), withStatus(func(s *batchv1.JobStatus) { s.Failed = 2 })),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return append(pods(j, "old", 2, corev1.PodFailed, noFinalizer), newPod(j, "f", corev1.PodFailed, finishedAt(long)))
			},
			want: syncWant{failed: 3, finalizersOff: 1,
				conditions: "FailureTarget=True/BackoffLimitExceeded,Failed=True/BackoffLimitExceeded",
				events:     map[string]int{"BackoffLimitExceeded": 1}},
		},
		"failing job deletes running pods and counts them as failed": {
			job: newJob("j", 2, 5, backoffLimit(0)),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{newPod(j, "f", corev1.PodFailed), newPod(j, "r", corev1.PodRunning, ready)}
			},
			want: syncWant{deleted: "r", failed: 2, finalizersOff: 2, terminating: 1,
				conditions: "FailureTarget=True/BackoffLimitExceeded",
				events:     map[string]int{"SuccessfulDelete": 1}},
		},
		"existing FailureTarget turns into Failed": {
			job:  newJob("j", 1, 1, withCondition(batchv1.JobFailureTarget, corev1.ConditionTrue, batchv1.JobReasonBackoffLimitExceeded, msgBackoffLimitExceeded)),
			want: syncWant{conditions: "FailureTarget=True/BackoffLimitExceeded,Failed=True/BackoffLimitExceeded", events: map[string]int{"BackoffLimitExceeded": 1}},
		},
		"FailureTarget waits for terminating pods": {
			job:  newJob("j", 1, 1, withCondition(batchv1.JobFailureTarget, corev1.ConditionTrue, batchv1.JobReasonBackoffLimitExceeded, msgBackoffLimitExceeded)),
			pods: func(j *batchv1.Job) []*corev1.Pod { return pods(j, "t", 1, corev1.PodRunning, deleting, noFinalizer) },
			want: syncWant{terminating: 1, conditions: "FailureTarget=True/BackoffLimitExceeded"},
		},
		"restartPolicy OnFailure: restarts reach backoffLimit": {
			job:  newJob("j", 1, 1, onFailure, backoffLimit(2)),
			pods: func(j *batchv1.Job) []*corev1.Pod { return pods(j, "r", 1, corev1.PodRunning, restarts(2)) },
			want: syncWant{deleted: "r0", failed: 1, finalizersOff: 1, terminating: 1,
				conditions: "FailureTarget=True/BackoffLimitExceeded", events: map[string]int{"SuccessfulDelete": 1}},
		},
		"restartPolicy OnFailure: restarts below backoffLimit": {
			job:  newJob("j", 1, 1, onFailure, backoffLimit(2)),
			pods: func(j *batchv1.Job) []*corev1.Pod { return pods(j, "r", 1, corev1.PodRunning, restarts(1)) },
			want: syncWant{active: 1},
		},
		"restartPolicy OnFailure: backoffLimit 0 fails on the first restart": {
			job:  newJob("j", 1, 1, onFailure, backoffLimit(0)),
			pods: func(j *batchv1.Job) []*corev1.Pod { return pods(j, "r", 1, corev1.PodRunning, restarts(1)) },
			want: syncWant{deleted: "r0", failed: 1, finalizersOff: 1, terminating: 1,
				conditions: "FailureTarget=True/BackoffLimitExceeded", events: map[string]int{"SuccessfulDelete": 1}},
		},
		// --- terminating pods and podReplacementPolicy ---
		"TerminatingOrFailed: a deleted running pod fails at once and is replaced": {
			job:  newJob("j", 1, 1),
			pods: func(j *batchv1.Job) []*corev1.Pod { return pods(j, "t", 1, corev1.PodRunning, deleting) },
			want: syncWant{created: 1, active: 1, failed: 1, terminating: 1, finalizersOff: 1, events: map[string]int{"SuccessfulCreate": 1}},
		},
		"Failed policy: a terminating pod is neither active nor failed nor replaced": {
			job:  newJob("j", 1, 1, replaceFailed),
			pods: func(j *batchv1.Job) []*corev1.Pod { return pods(j, "t", 1, corev1.PodRunning, deleting) },
			want: syncWant{terminating: 1},
		},
		"Failed policy: replaced once it reached phase Failed": {
			job: newJob("j", 1, 1, replaceFailed),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return pods(j, "t", 1, corev1.PodFailed, deleting, finishedAt(long))
			},
			want: syncWant{created: 1, active: 1, failed: 1, finalizersOff: 1, events: map[string]int{"SuccessfulCreate": 1}},
		},
		// --- activeDeadlineSeconds ---
		"deadline exceeded deletes running pods": {
			job:  newJob("j", 1, 1, deadline(10), started(testNow.Add(-20*time.Second))),
			pods: func(j *batchv1.Job) []*corev1.Pod { return pods(j, "r", 1, corev1.PodRunning) },
			want: syncWant{deleted: "r0", failed: 1, finalizersOff: 1, terminating: 1,
				conditions: "FailureTarget=True/DeadlineExceeded", events: map[string]int{"SuccessfulDelete": 1}},
		},
		"deadline exceeded without pods fails at once": {
			job: newJob("j", 1, 1, deadline(10), started(testNow.Add(-10*time.Second))),
			want: syncWant{conditions: "FailureTarget=True/DeadlineExceeded,Failed=True/DeadlineExceeded",
				events: map[string]int{"DeadlineExceeded": 1}},
		},
		"backoff limit beats the deadline on the same sync": {
			job:  newJob("j", 1, 1, backoffLimit(0), deadline(10), started(testNow.Add(-20*time.Second))),
			pods: func(j *batchv1.Job) []*corev1.Pod { return pods(j, "f", 1, corev1.PodFailed) },
			want: syncWant{failed: 1, finalizersOff: 1,
				conditions: "FailureTarget=True/BackoffLimitExceeded,Failed=True/BackoffLimitExceeded",
				events:     map[string]int{"BackoffLimitExceeded": 1}},
		},
		"a suspended job's deadline does not run": {
			job:  newJob("j", 1, 1, suspended, deadline(10), started(long), withCondition(batchv1.JobSuspended, corev1.ConditionTrue, reasonJobSuspended, msgJobSuspended)),
			want: syncWant{conditions: "Suspended=True/JobSuspended"},
		},
		// --- suspend / resume ---
		"created suspended: no pods, no startTime, Suspended condition": {
			job:  newJob("j", 2, 2, suspended),
			want: syncWant{conditions: "Suspended=True/JobSuspended", events: map[string]int{"Suspended": 1}, noStartTime: true},
		},
		"suspending deletes active pods, not as failures": {
			job:  newJob("j", 2, 4, suspended, started(long)),
			pods: func(j *batchv1.Job) []*corev1.Pod { return pods(j, "r", 2, corev1.PodRunning, ready) },
			want: syncWant{deleted: "r0,r1", finalizersOff: 2, terminating: 2, conditions: "Suspended=True/JobSuspended",
				events: map[string]int{"SuccessfulDelete": 2, "Suspended": 1}},
		},
		"resuming creates pods and flips the condition": {
			job:  newJob("j", 2, 4, started(long), withCondition(batchv1.JobSuspended, corev1.ConditionTrue, reasonJobSuspended, msgJobSuspended)),
			want: syncWant{created: 2, active: 2, conditions: "Suspended=False/JobResumed", events: map[string]int{"SuccessfulCreate": 2, "Resumed": 1}},
		},
		// --- Indexed ---
		"indexed creates the lowest free indexes": {
			job:  newJob("j", 3, 5, indexedJob),
			pods: func(j *batchv1.Job) []*corev1.Pod { return pods(j, "r", 1, corev1.PodRunning, index(1)) },
			want: syncWant{created: 2, createdIndexes: "0,2", active: 3, events: map[string]int{"SuccessfulCreate": 2}},
		},
		"indexed records completed indexes as intervals": {
			job: newJob("j", 2, 7, indexedJob),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				var ps []*corev1.Pod
				for _, ix := range []int{0, 1, 2, 4, 5} {
					ps = append(ps, newPod(j, "s"+string(rune('a'+ix)), corev1.PodSucceeded, index(ix)))
				}
				return ps
			},
			want: syncWant{created: 2, createdIndexes: "3,6", active: 2, succeeded: 5, completed: "0-2,4,5", finalizersOff: 5,
				events: map[string]int{"SuccessfulCreate": 2}},
		},
		"indexed second success of an index is ignored": {
			job: newJob("j", 1, 2, indexedJob),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{newPod(j, "a", corev1.PodSucceeded, index(0)), newPod(j, "b", corev1.PodSucceeded, index(0))}
			},
			want: syncWant{created: 1, createdIndexes: "1", active: 1, succeeded: 1, completed: "0", finalizersOff: 2,
				events: map[string]int{"SuccessfulCreate": 1}},
		},
		"indexed completes when every index succeeded": {
			job: newJob("j", 3, 3, indexedJob),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{newPod(j, "a", corev1.PodSucceeded, index(0)), newPod(j, "b", corev1.PodSucceeded, index(1)), newPod(j, "c", corev1.PodSucceeded, index(2))}
			},
			want: syncWant{succeeded: 3, completed: "0-2", finalizersOff: 3,
				conditions: "SuccessCriteriaMet=True/CompletionsReached,Complete=True/CompletionsReached",
				events:     map[string]int{"Completed": 1}},
		},
		"indexed duplicate index pods: keep one": {
			job: newJob("j", 2, 4, indexedJob),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{
					newPod(j, "old", corev1.PodRunning, index(0), ready, createdAt(testNow.Add(-time.Minute))),
					newPod(j, "new", corev1.PodRunning, index(0)),
				}
			},
			want: syncWant{deleted: "new", finalizersOff: 1, active: 1, ready: 1, terminating: 1, events: map[string]int{"SuccessfulDelete": 1}},
		},
		"indexed pods out of range or of completed indexes are deleted": {
			job: newJob("j", 2, 2, indexedJob, withStatus(func(s *batchv1.JobStatus) { s.CompletedIndexes = "1"; s.Succeeded = 1 })),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{
					newPod(j, "r0", corev1.PodRunning, index(0)),
					newPod(j, "r1", corev1.PodRunning, index(1)),
					newPod(j, "r5", corev1.PodRunning, index(5)),
				}
			},
			want: syncWant{deleted: "r1,r5", finalizersOff: 2, active: 1, terminating: 2, succeeded: 1, completed: "1", events: map[string]int{"SuccessfulDelete": 2}},
		},
		"indexed scale-in: indexes beyond completions stop counting": {
			job: newJob("j", 3, 3, indexedJob, withStatus(func(s *batchv1.JobStatus) { s.CompletedIndexes = "0-4"; s.Succeeded = 5 })),
			want: syncWant{succeeded: 3, completed: "0-2",
				conditions: "SuccessCriteriaMet=True/CompletionsReached,Complete=True/CompletionsReached",
				events:     map[string]int{"Completed": 1}},
		},
		// --- backoffLimitPerIndex ---
		"per index: an index out of retries is failed, others run": {
			job: newJob("j", 2, 3, perIndex(1, nil)),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return pods(j, "f", 1, corev1.PodFailed, index(0), failureCount(1), finishedAt(long))
			},
			want: syncWant{created: 2, createdIndexes: "1,2", active: 2, failed: 1, failedIndexes: ptr.To("0"), finalizersOff: 1,
				events: map[string]int{"SuccessfulCreate": 2}},
		},
		"per index: retry carries the failure count, failed pod keeps its finalizer": {
			job: newJob("j", 1, 1, perIndex(2, nil)),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return pods(j, "f", 1, corev1.PodFailed, index(0), failureCount(0), finishedAt(long))
			},
			want: syncWant{created: 1, createdIndexes: "0", active: 1, failedIndexes: ptr.To(""), events: map[string]int{"SuccessfulCreate": 1}},
		},
		"per index: failed pod released once its replacement runs": {
			job: newJob("j", 1, 1, perIndex(2, nil)),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{
					newPod(j, "f", corev1.PodFailed, index(0), failureCount(0), finishedAt(long)),
					newPod(j, "r", corev1.PodRunning, index(0), failureCount(1)),
				}
			},
			want: syncWant{active: 1, failed: 1, failedIndexes: ptr.To(""), finalizersOff: 1},
		},
		"per index: the index back-off holds the retry": {
			job: newJob("j", 1, 1, perIndex(2, nil)),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return pods(j, "f", 1, corev1.PodFailed, index(0), failureCount(1), finishedAt(testNow.Add(-5*time.Second)))
			},
			want: syncWant{failedIndexes: ptr.To(""), events: map[string]int{"BackoffWaiting": 1}},
		},
		"per index: maxFailedIndexes exceeded": {
			job: newJob("j", 2, 3, perIndex(0, ptr.To[int32](0))),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return pods(j, "f", 1, corev1.PodFailed, index(0), failureCount(0))
			},
			want: syncWant{failed: 1, failedIndexes: ptr.To("0"), finalizersOff: 1,
				conditions: "FailureTarget=True/MaxFailedIndexesExceeded,Failed=True/MaxFailedIndexesExceeded",
				events:     map[string]int{"MaxFailedIndexesExceeded": 1}},
		},
		"per index: all indexes ended with a failed one": {
			job: newJob("j", 2, 2, perIndex(0, nil)),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{newPod(j, "f", corev1.PodFailed, index(0), failureCount(0)), newPod(j, "s", corev1.PodSucceeded, index(1))}
			},
			want: syncWant{failed: 1, succeeded: 1, completed: "1", failedIndexes: ptr.To("0"), finalizersOff: 2,
				conditions: "FailureTarget=True/FailedIndexes,Failed=True/FailedIndexes",
				events:     map[string]int{"FailedIndexes": 1}},
		},
		// --- podFailurePolicy ---
		"pod failure policy FailJob on an exit code": {
			job: newJob("j", 1, 1, withPolicy(batchv1.PodFailurePolicyRule{Action: batchv1.PodFailurePolicyActionFailJob,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}}})),
			pods: func(j *batchv1.Job) []*corev1.Pod { return pods(j, "f", 1, corev1.PodFailed, exitCode(42)) },
			want: syncWant{failed: 1, finalizersOff: 1,
				conditions: "FailureTarget=True/PodFailurePolicy,Failed=True/PodFailurePolicy",
				events:     map[string]int{"PodFailurePolicy": 1}},
		},
		"pod failure policy FailJob on a pod condition": {
			job: newJob("j", 1, 1, withPolicy(batchv1.PodFailurePolicyRule{Action: batchv1.PodFailurePolicyActionFailJob,
				OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}})),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return pods(j, "f", 1, corev1.PodFailed, condition(corev1.DisruptionTarget))
			},
			want: syncWant{failed: 1, finalizersOff: 1,
				conditions: "FailureTarget=True/PodFailurePolicy,Failed=True/PodFailurePolicy",
				events:     map[string]int{"PodFailurePolicy": 1}},
		},
		"pod failure policy Ignore: not counted, replaced": {
			job: newJob("j", 1, 1, backoffLimit(0), withPolicy(batchv1.PodFailurePolicyRule{Action: batchv1.PodFailurePolicyActionIgnore,
				OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}})),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return pods(j, "f", 1, corev1.PodFailed, condition(corev1.DisruptionTarget), finishedAt(long))
			},
			want: syncWant{created: 1, active: 1, finalizersOff: 1, events: map[string]int{"SuccessfulCreate": 1}},
		},
		"pod failure policy Count with NotIn": {
			job: newJob("j", 1, 1, backoffLimit(0), withPolicy(batchv1.PodFailurePolicyRule{Action: batchv1.PodFailurePolicyActionCount,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpNotIn, Values: []int32{42}}})),
			pods: func(j *batchv1.Job) []*corev1.Pod { return pods(j, "f", 1, corev1.PodFailed, exitCode(3)) },
			want: syncWant{failed: 1, finalizersOff: 1,
				conditions: "FailureTarget=True/BackoffLimitExceeded,Failed=True/BackoffLimitExceeded",
				events:     map[string]int{"BackoffLimitExceeded": 1}},
		},
		"pod failure policy rule for another container does not match": {
			job: newJob("j", 1, 1, withPolicy(batchv1.PodFailurePolicyRule{Action: batchv1.PodFailurePolicyActionFailJob,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{ContainerName: ptr.To("other"), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{1}}})),
			pods: func(j *batchv1.Job) []*corev1.Pod { return pods(j, "f", 1, corev1.PodFailed, finishedAt(long)) },
			want: syncWant{created: 1, active: 1, failed: 1, finalizersOff: 1, events: map[string]int{"SuccessfulCreate": 1}},
		},
		"pod failure policy FailIndex fails the index at once": {
			job: newJob("j", 1, 2, perIndex(3, nil), withPolicy(batchv1.PodFailurePolicyRule{Action: batchv1.PodFailurePolicyActionFailIndex,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{1}}})),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return pods(j, "f", 1, corev1.PodFailed, index(0), failureCount(0))
			},
			want: syncWant{created: 1, createdIndexes: "1", active: 1, failed: 1, failedIndexes: ptr.To("0"), finalizersOff: 1,
				events: map[string]int{"SuccessfulCreate": 1}},
		},
		// --- success policy ---
		"success policy on succeeded indexes deletes the rest": {
			job: newJob("j", 3, 5, indexedJob, func(j *batchv1.Job) {
				j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr.To("0,1")}}}
			}),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{
					newPod(j, "a", corev1.PodSucceeded, index(0)), newPod(j, "b", corev1.PodSucceeded, index(1)),
					newPod(j, "c", corev1.PodRunning, index(2)),
				}
			},
			want: syncWant{deleted: "c", succeeded: 2, completed: "0,1", finalizersOff: 3, terminating: 1,
				conditions: "SuccessCriteriaMet=True/SuccessPolicy", events: map[string]int{"SuccessfulDelete": 1}},
		},
		"success policy with succeededCount completes": {
			job: newJob("j", 3, 5, indexedJob, func(j *batchv1.Job) {
				j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{
					{SucceededIndexes: ptr.To("3-4")}, {SucceededCount: ptr.To[int32](2)}}}
			}),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{newPod(j, "a", corev1.PodSucceeded, index(0)), newPod(j, "b", corev1.PodSucceeded, index(2))}
			},
			want: syncWant{succeeded: 2, completed: "0,2", finalizersOff: 2,
				conditions: "SuccessCriteriaMet=True/SuccessPolicy,Complete=True/SuccessPolicy", events: map[string]int{"Completed": 1}},
		},
		// --- tracking ledger across restarts ---
		"uncounted pods whose finalizer is gone are counted": {
			job: newJob("j", 1, 2, withStatus(func(s *batchv1.JobStatus) {
				s.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{Succeeded: []types.UID{"uid-a"}, Failed: []types.UID{"uid-gone"}}
			})),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{newPod(j, "a", corev1.PodSucceeded, noFinalizer), newPod(j, "r", corev1.PodRunning)}
			},
			want: syncWant{active: 1, succeeded: 1, failed: 1},
		},
		"uncounted pod still holding the finalizer is counted once": {
			job: newJob("j", 1, 2, withStatus(func(s *batchv1.JobStatus) {
				s.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{Failed: []types.UID{"uid-f"}}
			})),
			pods: func(j *batchv1.Job) []*corev1.Pod {
				return []*corev1.Pod{newPod(j, "f", corev1.PodFailed, finishedAt(long)), newPod(j, "r", corev1.PodRunning)}
			},
			want: syncWant{active: 1, failed: 1, finalizersOff: 1},
		},
		"pods without the finalizer were counted before": {
			job:  newJob("j", 1, 3, withStatus(func(s *batchv1.JobStatus) { s.Succeeded = 1 })),
			pods: func(j *batchv1.Job) []*corev1.Pod { return pods(j, "s", 1, corev1.PodSucceeded, noFinalizer) },
			want: syncWant{created: 1, active: 1, succeeded: 1, events: map[string]int{"SuccessfulCreate": 1}},
		},
		// --- skipped ---
		"managedBy another controller is skipped": {
			job:  newJob("j", 1, 1, func(j *batchv1.Job) { j.Spec.ManagedBy = ptr.To("example.com/other") }),
			pods: func(j *batchv1.Job) []*corev1.Pod { return pods(j, "s", 1, corev1.PodSucceeded) },
			want: syncWant{noStatusWrite: true, noStartTime: true},
		},
		"finished job is never synced again": {
			job: newJob("j", 1, 1, withCondition(batchv1.JobComplete, corev1.ConditionTrue, batchv1.JobReasonCompletionsReached, msgCompletionsReached),
				withStatus(func(s *batchv1.JobStatus) { s.CompletionTime = &s.Conditions[0].LastTransitionTime })),
			want: syncWant{noStatusWrite: true, noStartTime: true, conditions: "Complete=True/CompletionsReached"},
		},
		"unknown completion mode is skipped with a warning": {
			job:  newJob("j", 1, 1, func(j *batchv1.Job) { j.Spec.CompletionMode = ptr.To(batchv1.CompletionMode("Weird")) }),
			want: syncWant{noStatusWrite: true, noStartTime: true, events: map[string]int{"UnknownCompletionMode": 1}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			objs := []runtime.Object{tc.job}
			if tc.pods != nil {
				for _, p := range tc.pods(tc.job) {
					objs = append(objs, p)
				}
			}
			f.add(objs...)
			if err := f.sync(tc.job); err != nil {
				t.Fatalf("sync: %v", err)
			}
			checkSync(t, f, tc.job, tc.want)
		})
	}
}

func checkSync(t *testing.T, f *fixture, job *batchv1.Job, w syncWant) {
	t.Helper()
	created := f.createdPods()
	if len(created) != w.created {
		t.Errorf("created %d pods, want %d", len(created), w.created)
	}
	if w.createdIndexes != "" {
		var ixs []string
		for _, p := range created {
			ixs = append(ixs, p.Labels[batchv1.JobCompletionIndexAnnotation])
		}
		sort.Strings(ixs)
		if got := strings.Join(ixs, ","); got != w.createdIndexes {
			t.Errorf("created indexes %q, want %q", got, w.createdIndexes)
		}
	}
	if got := strings.Join(f.deletedPods(), ","); got != w.deleted {
		t.Errorf("deleted %q, want %q", got, w.deleted)
	}
	if got := len(f.finalizerRemovals()); got != w.finalizersOff {
		t.Errorf("removed %d finalizers, want %d", got, w.finalizersOff)
	}
	if w.noStatusWrite && len(f.statusWrites()) > 0 {
		t.Errorf("status written %d times, want none", len(f.statusWrites()))
	}
	st := f.job(job).Status
	if st.Active != w.active || ptr.Deref(st.Ready, 0) != w.ready || st.Succeeded != w.succeeded || st.Failed != w.failed || ptr.Deref(st.Terminating, 0) != w.terminating {
		t.Errorf("status active/ready/succeeded/failed/terminating = %d/%d/%d/%d/%d, want %d/%d/%d/%d/%d",
			st.Active, ptr.Deref(st.Ready, 0), st.Succeeded, st.Failed, ptr.Deref(st.Terminating, 0),
			w.active, w.ready, w.succeeded, w.failed, w.terminating)
	}
	if u := st.UncountedTerminatedPods; u != nil && len(u.Succeeded)+len(u.Failed) > 0 {
		t.Errorf("uncounted pods left: %+v", u)
	}
	if st.CompletedIndexes != w.completed {
		t.Errorf("completedIndexes %q, want %q", st.CompletedIndexes, w.completed)
	}
	if !ptr.Equal(st.FailedIndexes, w.failedIndexes) {
		t.Errorf("failedIndexes %v, want %v", ptr.Deref(st.FailedIndexes, "<nil>"), ptr.Deref(w.failedIndexes, "<nil>"))
	}
	if got := condSummary(st.Conditions); got != w.conditions {
		t.Errorf("conditions %q, want %q", got, w.conditions)
	}
	if (st.StartTime == nil) != w.noStartTime {
		t.Errorf("startTime %v, want set=%v", st.StartTime, !w.noStartTime)
	}
	if c := findCondition(st.Conditions, batchv1.JobComplete); c != nil {
		if st.CompletionTime == nil || !st.CompletionTime.Equal(&c.LastTransitionTime) {
			t.Errorf("completionTime %v, want the Complete transition time", st.CompletionTime)
		}
	} else if st.CompletionTime != nil {
		t.Errorf("completionTime %v set without Complete", st.CompletionTime)
	}
	events := countReasons(f.events())
	want := w.events
	if want == nil {
		want = map[string]int{}
	}
	if !maps.Equal(events, want) {
		t.Errorf("events %v, want %v", events, want)
	}
}
