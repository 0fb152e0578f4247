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

// ReplicaSetCounts is the status of a ReplicaSet or a ReplicationController: the same
// counts, under the same rules.
type ReplicaSetCounts struct {
	Replicas, FullyLabeledReplicas, ReadyReplicas, AvailableReplicas int32
	ObservedGeneration                                               int64
}

// CheckReplicaSetCounts checks a ReplicaSet's or ReplicationController's status under
// p: no negative counts or observedGeneration, no count beyond status.replicas, no
// more available than ready.
func CheckReplicaSetCounts(p *field.Path, s ReplicaSetCounts) field.ErrorList {
	fullyLabeled := Count{Name: "fullyLabeledReplicas", Value: s.FullyLabeledReplicas}
	errs := NonnegativeCounts(p,
		Count{Name: "replicas", Value: s.Replicas}, fullyLabeled,
		Count{Name: "readyReplicas", Value: s.ReadyReplicas}, Count{Name: "availableReplicas", Value: s.AvailableReplicas})
	errs = append(errs, apivalidation.ValidateNonnegativeField(s.ObservedGeneration, p.Child("observedGeneration"))...)
	return append(errs, ReplicaCountsWithin(p, s.Replicas, s.ReadyReplicas, s.AvailableReplicas, fullyLabeled)...)
}
