package cronjob

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
)

// nextScheduleDelta pads every timed requeue so that the sync runs just after the
// scheduled time, not just before it (clock skew between the workqueue's timer and now()).
const nextScheduleDelta = 100 * time.Millisecond

// tooManyMissed is the number of missed schedule times above which the controller warns
// (TooManyMissedTimes); it still starts a Job for the most recent one.
const tooManyMissed = 100

// errScheduleNeverFires is returned for schedules that parse but whose two consecutive
// times are less than a second apart, which is how a time that never comes (Feb 31st)
// shows up in the cron library.
var errScheduleNeverFires = errors.New("time difference between two schedules is less than 1 second")

// schedule is a parsed CronJob schedule bound to the time zone it is evaluated in.
type schedule struct {
	spec cron.Schedule
	// loc is the zone the schedule's wall-clock fields refer to: spec.timeZone, or the
	// controller's local zone when unset.
	loc *time.Location
}

// Next returns the first schedule time strictly after t (zero if none in five years).
func (s schedule) Next(t time.Time) time.Time {
	return s.spec.Next(t.In(s.loc))
}

// parseSchedule parses cj.spec.schedule the way Kubernetes does: robfig/cron's standard
// parser (5 fields, descriptors, @every), evaluated in spec.timeZone if set, else in
// local. A schedule that already carries TZ=/CRON_TZ= keeps its own zone.
func parseSchedule(cj *batchv1.CronJob, local *time.Location) (schedule, error) {
	loc := local
	if cj.Spec.TimeZone != nil && !strings.Contains(cj.Spec.Schedule, "TZ") {
		l, err := time.LoadLocation(*cj.Spec.TimeZone)
		if err != nil {
			return schedule{}, fmt.Errorf("loading time zone %q: %w", *cj.Spec.TimeZone, err)
		}
		loc = l
	}
	spec, err := cron.ParseStandard(cj.Spec.Schedule)
	if err != nil {
		return schedule{}, err
	}
	return schedule{spec: spec, loc: loc}, nil
}

// missed says how many schedule times passed unstarted, roughly.
type missed int

const (
	noneMissed missed = iota
	fewMissed
	manyMissed
)

// mostRecentScheduleTime returns the earliest time considered (lastScheduleTime or
// creationTimestamp, raised to now-startingDeadlineSeconds when withDeadline), the most
// recent schedule time in (earliest, now] (nil if none), and how many were missed.
//
// The count of missed times is estimated from the distance between the first two
// schedule times after earliest, as Kubernetes does, so that a controller that was down
// for years does not walk every minute since then.
func mostRecentScheduleTime(cj *batchv1.CronJob, now time.Time, sched schedule, withDeadline bool) (time.Time, *time.Time, missed, error) {
	earliest := cj.CreationTimestamp.Time
	if cj.Status.LastScheduleTime != nil {
		earliest = cj.Status.LastScheduleTime.Time
	}
	if withDeadline && cj.Spec.StartingDeadlineSeconds != nil {
		deadline := now.Add(-time.Duration(*cj.Spec.StartingDeadlineSeconds) * time.Second)
		if deadline.After(earliest) {
			earliest = deadline
		}
	}

	t1 := sched.Next(earliest)
	t2 := sched.Next(t1)
	if now.Before(t1) {
		return earliest, nil, noneMissed, nil
	}
	if now.Before(t2) {
		return earliest, &t1, noneMissed, nil
	}

	between := int64(t2.Sub(t1).Round(time.Second).Seconds())
	if between < 1 {
		return earliest, nil, noneMissed, errScheduleNeverFires
	}
	elapsed := int64(now.Sub(t1).Seconds())
	count := elapsed/between + 1

	// Jump close to now, one interval early, and let the schedule find the exact
	// times from there (irregular schedules such as "30 6-16/4 * * 1-5", and @every,
	// which counts from the time it is given).
	from := t1.Add(time.Duration((count-2)*between) * time.Second)
	var recent time.Time
	for t := sched.Next(from); !t.After(now); t = sched.Next(t) {
		recent = t
	}

	m := fewMissed
	if count > tooManyMissed {
		m = manyMissed
	}
	if recent.IsZero() {
		return earliest, nil, m, nil
	}
	return earliest, &recent, m, nil
}

// nextScheduleTimeDuration is how long to wait before syncing cj again: until the
// schedule time after the most recent one (ignoring startingDeadlineSeconds), plus
// nextScheduleDelta.
func nextScheduleTimeDuration(cj *batchv1.CronJob, now time.Time, sched schedule) time.Duration {
	earliest, recent, m, err := mostRecentScheduleTime(cj, now, sched, false)
	from := now
	switch {
	case err != nil:
	case recent != nil:
		from = *recent
	case m == noneMissed:
		from = earliest
	}
	next := sched.Next(from)
	if next.IsZero() {
		// Nothing within five years: look again in a day rather than never.
		return 24 * time.Hour
	}
	return next.Add(nextScheduleDelta).Sub(now)
}
