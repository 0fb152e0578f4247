package cronjob

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// sync reconciles one CronJob: it reads the CronJob and its Jobs from the caches,
// prunes history, decides whether a Job is due, and writes status once. It returns when
// to look at the CronJob again (nil: only on the next change).
func (c *Controller) sync(ctx context.Context, key string) (*time.Duration, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil, fmt.Errorf("splitting key %q: %w", key, err)
	}
	cached, err := c.cronJobs.CronJobs(ns).Get(name)
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("getting cronjob %s from cache: %w", key, err)
	}
	children, err := c.childJobs(cached)
	if err != nil {
		return nil, err
	}

	cj := cached.DeepCopy()
	statusChanged := c.cleanupFinishedJobs(ctx, cj, children)
	requeueAfter, changed, syncErr := c.syncCronJob(ctx, cj, children)
	if changed {
		statusChanged = true
	}
	if syncErr != nil {
		logger(ctx).V(2).Info("error reconciling cronjob", "cronjob", key, "err", syncErr)
	}
	if statusChanged {
		if _, err := c.client.BatchV1().CronJobs(ns).UpdateStatus(ctx, cj, metav1.UpdateOptions{}); err != nil {
			return nil, fmt.Errorf("updating status of cronjob %s: %w", key, err)
		}
	}
	if requeueAfter != nil {
		return requeueAfter, nil
	}
	return nil, syncErr
}

// childJobs lists the Jobs in the CronJob's namespace whose controller reference names
// it (whatever their labels now are).
func (c *Controller) childJobs(cj *batchv1.CronJob) ([]*batchv1.Job, error) {
	all, err := c.jobs.Jobs(cj.Namespace).List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("listing jobs of cronjob %s/%s: %w", cj.Namespace, cj.Name, err)
	}
	var children []*batchv1.Job
	for _, j := range all {
		if ref := metav1.GetControllerOf(j); ref != nil && ref.Kind == controllerKind.Kind && ref.Name == cj.Name {
			children = append(children, j)
		}
	}
	return children, nil
}

// syncCronJob is the scheduling decision for one CronJob (cj is a private copy and is
// updated in place). It returns the requeue delay, whether status changed, and an error
// to retry with back-off.
func (c *Controller) syncCronJob(ctx context.Context, cj *batchv1.CronJob, children []*batchv1.Job) (*time.Duration, bool, error) {
	now := c.clock.Now()
	changed, err := c.reconcileActive(ctx, cj, children)
	if err != nil {
		return nil, changed, err
	}
	if cj.DeletionTimestamp != nil {
		return nil, changed, nil
	}
	if cj.Spec.TimeZone != nil {
		if _, err := time.LoadLocation(*cj.Spec.TimeZone); err != nil {
			c.recorder.Eventf(cj, corev1.EventTypeWarning, "UnknownTimeZone", "invalid timeZone: %q: %s", *cj.Spec.TimeZone, err)
			return nil, changed, nil
		}
	}
	if isTrue(cj.Spec.Suspend) {
		return nil, changed, nil
	}
	if strings.Contains(cj.Spec.Schedule, "TZ") {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "UnsupportedSchedule", "CRON_TZ or TZ used in schedule %q is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details", cj.Spec.Schedule)
	}
	sched, err := parseSchedule(cj, c.location)
	if err != nil {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "UnparseableSchedule", "unparseable schedule: %q : %s", cj.Spec.Schedule, err)
		return nil, changed, nil
	}

	requeue := func() (*time.Duration, bool, error) {
		d := nextScheduleTimeDuration(cj, now, sched)
		return &d, changed, nil
	}

	_, scheduled, m, err := mostRecentScheduleTime(cj, now, sched, true)
	if err != nil {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "InvalidSchedule", "invalid schedule: %s : %s", cj.Spec.Schedule, err)
		return nil, changed, nil
	}
	if scheduled == nil {
		return requeue()
	}
	if m == manyMissed {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "TooManyMissedTimes", "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew")
	}

	if d := cj.Spec.StartingDeadlineSeconds; d != nil && scheduled.Add(time.Duration(*d)*time.Second).Before(now) {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "MissSchedule", "Missed scheduled time to start a job: %s", scheduled.UTC().Format(time.RFC1123Z))
		return requeue()
	}
	if inActiveByName(cj, jobName(cj, *scheduled)) ||
		(cj.Status.LastScheduleTime != nil && cj.Status.LastScheduleTime.Time.Equal(*scheduled)) {
		return requeue()
	}
	if cj.Spec.ConcurrencyPolicy == batchv1.ForbidConcurrent && len(cj.Status.Active) > 0 {
		c.recorder.Eventf(cj, corev1.EventTypeNormal, "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid")
		return requeue()
	}
	if cj.Spec.ConcurrencyPolicy == batchv1.ReplaceConcurrent {
		for _, ref := range slices.Clone(cj.Status.Active) {
			job, err := c.client.BatchV1().Jobs(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
			if err != nil {
				c.recorder.Eventf(cj, corev1.EventTypeWarning, "FailedGet", "Get job: %v", err)
				return nil, changed, fmt.Errorf("getting active job %s/%s to replace it: %w", ref.Namespace, ref.Name, err)
			}
			if !c.deleteJob(ctx, cj, job) {
				return nil, changed, fmt.Errorf("could not replace job %s/%s", job.Namespace, job.Name)
			}
			changed = true
		}
	}

	created, err := c.createJob(ctx, cj, *scheduled)
	if err != nil {
		return nil, changed, err
	}
	if created == nil {
		return requeue()
	}
	cj.Status.Active = append(cj.Status.Active, jobReference(created))
	cj.Status.LastScheduleTime = &metav1.Time{Time: *scheduled}
	changed = true
	return requeue()
}

// reconcileActive brings status.active and lastSuccessfulTime in line with the Jobs
// the CronJob controls.
func (c *Controller) reconcileActive(ctx context.Context, cj *batchv1.CronJob, children []*batchv1.Job) (bool, error) {
	changed := false
	seen := make(map[types.UID]bool, len(children))
	for _, j := range children {
		seen[j.UID] = true
		found := inActive(cj, j.UID)
		cond := finishedCondition(j)
		switch {
		case !found && cond == "":
			// Maybe our cache of the CronJob is older than the Job: ask the API.
			fresh, err := c.client.BatchV1().CronJobs(cj.Namespace).Get(ctx, cj.Name, metav1.GetOptions{})
			if err != nil {
				return changed, fmt.Errorf("getting cronjob %s/%s: %w", cj.Namespace, cj.Name, err)
			}
			if inActive(fresh, j.UID) {
				// Our cache of the CronJob is behind: take the entry from the API.
				for _, r := range fresh.Status.Active {
					if r.UID == j.UID {
						cj.Status.Active = append(cj.Status.Active, r)
					}
				}
				continue
			}
			c.recorder.Eventf(cj, corev1.EventTypeWarning, "UnexpectedJob", "Saw a job that the controller did not create or forgot: %s", j.Name)
		case cond != "":
			if found {
				removeFromActive(cj, j.UID)
				c.recorder.Eventf(cj, corev1.EventTypeNormal, "SawCompletedJob", "Saw completed job: %s, condition: %v", j.Name, cond)
				changed = true
			}
			if cond == batchv1.JobComplete && j.Status.CompletionTime != nil {
				if last := cj.Status.LastSuccessfulTime; last == nil || j.Status.CompletionTime.After(last.Time) {
					cj.Status.LastSuccessfulTime = j.Status.CompletionTime.DeepCopy()
					changed = true
				}
			}
		}
	}

	// Active entries whose Job is in no cache: confirm with the API before dropping
	// them, since the Job informer may simply be behind.
	for _, ref := range slices.Clone(cj.Status.Active) {
		if seen[ref.UID] {
			continue
		}
		_, err := c.client.BatchV1().Jobs(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			c.recorder.Eventf(cj, corev1.EventTypeNormal, "MissingJob", "Active job went missing: %v", ref.Name)
			removeFromActive(cj, ref.UID)
			changed = true
		case err != nil:
			return changed, fmt.Errorf("getting active job %s/%s: %w", ref.Namespace, ref.Name, err)
		}
	}
	return changed, nil
}

// createJob creates the Job for a schedule time. It returns the Job to record in
// status.active, or nil with no error when there is nothing to record (the Job exists
// and belongs to someone else, or is already recorded).
func (c *Controller) createJob(ctx context.Context, cj *batchv1.CronJob, scheduled time.Time) (*batchv1.Job, error) {
	want, err := jobFromTemplate(cj, scheduled)
	if err != nil {
		return nil, err
	}
	job, err := c.client.BatchV1().Jobs(cj.Namespace).Create(ctx, want, metav1.CreateOptions{})
	switch {
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return nil, fmt.Errorf("creating job %s/%s: %w", want.Namespace, want.Name, err)
	case apierrors.IsAlreadyExists(err):
		// Created before, but the status update was lost: record it now. A Job with
		// our name that we do not control is someone else's business.
		existing, err := c.client.BatchV1().Jobs(cj.Namespace).Get(ctx, want.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("getting existing job %s/%s: %w", want.Namespace, want.Name, err)
		}
		if !metav1.IsControlledBy(existing, cj) || inActive(cj, existing.UID) {
			return nil, nil
		}
		return existing, nil
	case err != nil:
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "FailedCreate", "Error creating job: %v", err)
		return nil, fmt.Errorf("creating job %s/%s: %w", want.Namespace, want.Name, err)
	}
	c.recorder.Eventf(cj, corev1.EventTypeNormal, "SuccessfulCreate", "Created job %v", job.Name)
	return job, nil
}

// cleanupFinishedJobs deletes the oldest finished Jobs beyond the history limits and
// reports whether status changed.
func (c *Controller) cleanupFinishedJobs(ctx context.Context, cj *batchv1.CronJob, children []*batchv1.Job) bool {
	if cj.Spec.SuccessfulJobsHistoryLimit == nil && cj.Spec.FailedJobsHistoryLimit == nil {
		return false
	}
	var succeeded, failed []*batchv1.Job
	for _, j := range children {
		switch finishedCondition(j) {
		case batchv1.JobComplete:
			succeeded = append(succeeded, j)
		case batchv1.JobFailed:
			failed = append(failed, j)
		}
	}
	changed := false
	if l := cj.Spec.SuccessfulJobsHistoryLimit; l != nil && c.removeOldestJobs(ctx, cj, succeeded, *l) {
		changed = true
	}
	if l := cj.Spec.FailedJobsHistoryLimit; l != nil && c.removeOldestJobs(ctx, cj, failed, *l) {
		changed = true
	}
	return changed
}

func (c *Controller) removeOldestJobs(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job, limit int32) bool {
	excess := len(jobs) - int(limit)
	if excess <= 0 {
		return false
	}
	slices.SortFunc(jobs, olderFirst)
	changed := false
	for _, j := range jobs[:excess] {
		if c.deleteJob(ctx, cj, j) {
			changed = true
		}
	}
	return changed
}

// deleteJob deletes a Job with its pods (propagation Background), drops it from
// status.active and records the event. It reports success.
func (c *Controller) deleteJob(ctx context.Context, cj *batchv1.CronJob, job *batchv1.Job) bool {
	background := metav1.DeletePropagationBackground
	err := c.client.BatchV1().Jobs(job.Namespace).Delete(ctx, job.Name, metav1.DeleteOptions{PropagationPolicy: &background})
	if apierrors.IsNotFound(err) {
		// Already gone (our cache is behind an earlier delete): nothing to report.
		removeFromActive(cj, job.UID)
		return true
	}
	if err != nil {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "FailedDelete", "Deleted job: %v", err)
		logger(ctx).Error(err, "deleting job of cronjob", "job", job.Namespace+"/"+job.Name)
		return false
	}
	removeFromActive(cj, job.UID)
	c.recorder.Eventf(cj, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted job %v", job.Name)
	return true
}

func isTrue(b *bool) bool { return b != nil && *b }
