package job

import (
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
)

// matchSuccessPolicy returns the SuccessCriteriaMet message of the first rule
// of policy that the succeeded indexes meet.
func matchSuccessPolicy(policy *batchv1.SuccessPolicy, completions int32, succeeded indexSet) (string, bool) {
	if policy == nil || len(succeeded) == 0 {
		return "", false
	}
	for i, rule := range policy.Rules {
		met := false
		if rule.SucceededIndexes != nil {
			required := parseIndexSet(*rule.SucceededIndexes, int(completions))
			if len(required) == 0 {
				continue
			}
			n := 0
			for _, iv := range required {
				for ix := iv.first; ix <= iv.last; ix++ {
					if succeeded.has(ix) {
						n++
					}
				}
			}
			if rule.SucceededCount != nil {
				met = n >= int(*rule.SucceededCount)
			} else {
				met = n == required.total()
			}
		} else if rule.SucceededCount != nil {
			met = succeeded.total() >= int(*rule.SucceededCount)
		}
		if met {
			return fmt.Sprintf("Matched rules at index %d", i), true
		}
	}
	return "", false
}
