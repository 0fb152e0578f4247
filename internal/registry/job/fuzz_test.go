package job

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// FuzzValidateJob decodes arbitrary bytes as a Job (YAML or JSON), runs the create and
// update rules on it and requires that they never panic. The corpus starts from the
// observed scenarios and the Job/CronJob manifests of the shared seeds (testdata).
func FuzzValidateJob(f *testing.F) {
	for _, pattern := range []string{"testdata/*.yaml", "testdata/seeds/*.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			for _, doc := range strings.Split(string(data), "\n---") {
				f.Add([]byte(doc))
			}
		}
	}
	f.Add([]byte(`{"spec":{"completionMode":"Indexed","completions":3,"successPolicy":{"rules":[{"succeededIndexes":"0-1,2","succeededCount":9}]}}}`))
	f.Add([]byte(`{"spec":{"podFailurePolicy":{"rules":[{"action":"FailIndex","onExitCodes":{"operator":"In","values":[3,1,1,0]}}]}}}`))
	f.Add([]byte(`{"spec":{"selector":{"matchExpressions":[{"key":"a","operator":"Bogus"}]},"manualSelector":true}}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		job := &batchv1.Job{}
		if err := yaml.Unmarshal(data, job); err != nil {
			return
		}
		ctx := context.Background()
		job.UID = "0b9b3f5e-1f6c-4bfa-9d53-3c0cbb6a2c11"
		job.Generation = 1
		job.CreationTimestamp = metav1.Now()
		if job.Namespace == "" {
			job.Namespace = "default"
		}
		old := job.DeepCopy()
		Strategy{}.PrepareForCreate(ctx, job)
		_ = Strategy{}.Validate(ctx, job)
		_ = Strategy{}.WarningsOnCreate(ctx, job)
		if _, _, err := (Strategy{}).AttrsFunc(job); err != nil {
			t.Fatal(err)
		}
		if _, err := (Table{}).Cells(job, job.CreationTimestamp.Time); err != nil {
			t.Fatal(err)
		}
		Strategy{}.PrepareForCreate(ctx, old)
		updated := job.DeepCopy()
		updated.ResourceVersion = "2"
		Strategy{}.PrepareForUpdate(ctx, updated, old)
		_ = Strategy{}.ValidateUpdate(ctx, updated, old)
		_ = Strategy{}.SpecChanged(updated, old)
		StatusStrategy{}.PrepareForUpdate(ctx, updated, old)
		_ = StatusStrategy{}.ValidateUpdate(ctx, updated, old)
	})
}
