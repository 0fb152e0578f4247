package pod

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// FuzzValidatePod decodes arbitrary bytes as a Pod and runs every rule and the table on
// it: none may panic.
func FuzzValidatePod(f *testing.F) {
	f.Add([]byte(`{"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`))
	f.Add([]byte(`{"spec":{"volumes":[{"name":"v","hostPath":{"path":"/x"},"emptyDir":{}}],"containers":[{"name":"c","image":" x","volumeMounts":[{"name":"w"}],"env":[{"name":"1","valueFrom":{}}],"resources":{"limits":{"cpu":"1"},"requests":{"cpu":"2","memory":"-1"}}}]}}`))
	f.Add([]byte(`{"spec":{"initContainers":[{"name":"s","image":"x","restartPolicy":"Always"}],"containers":[{"name":"c","image":"x"}]},"status":{"initContainerStatuses":[{"name":"s","started":true}],"containerStatuses":[{"name":"c","state":{"terminated":{"exitCode":3}}}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := &corev1.Pod{}
		if err := yaml.Unmarshal(data, p); err != nil {
			return
		}
		ctx := context.Background()
		status := p.Status
		old := p.DeepCopy()
		Strategy{}.PrepareForCreate(ctx, p)
		_ = Strategy{}.Validate(ctx, p)
		Strategy{}.PrepareForCreate(ctx, old)
		p.Status = status
		if _, err := (Table{}).Cells(p, time.Now()); err != nil {
			t.Fatal(err)
		}
		_ = GracePeriod(p, nil)
		updated := p.DeepCopy()
		Strategy{}.PrepareForUpdate(ctx, updated, old)
		_ = Strategy{}.ValidateUpdate(ctx, updated, old)
		StatusStrategy{}.PrepareForUpdate(ctx, p, old)
		_ = StatusStrategy{}.ValidateUpdate(ctx, p, old)
	})
}
