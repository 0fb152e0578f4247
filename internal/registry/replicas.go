package registry

import (
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Count is a named int32 status field of a workload (replicas, numberReady, ...).
type Count struct {
	Name  string
	Value int32
}

// NonnegativeCounts reports, under p, each count that is negative.
func NonnegativeCounts(p *field.Path, counts ...Count) field.ErrorList {
	var errs field.ErrorList
	for _, c := range counts {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(c.Value), p.Child(c.Name))...)
	}
	return errs
}

// ReplicaCountsWithin checks the status counts of a replicated workload (ReplicaSet,
// ReplicationController, Deployment) against each other as Kubernetes does: each of
// counts, then readyReplicas and availableReplicas, may not exceed status.replicas, and
// availableReplicas may not exceed readyReplicas. p is the status path.
func ReplicaCountsWithin(p *field.Path, replicas, ready, available int32, counts ...Count) field.ErrorList {
	const beyond = "cannot be greater than status.replicas"
	var errs field.ErrorList
	for _, c := range append(counts, Count{"readyReplicas", ready}, Count{"availableReplicas", available}) {
		if c.Value > replicas {
			errs = append(errs, field.Invalid(p.Child(c.Name), c.Value, beyond))
		}
	}
	if available > ready {
		errs = append(errs, field.Invalid(p.Child("availableReplicas"), available, "cannot be greater than readyReplicas"))
	}
	return errs
}
