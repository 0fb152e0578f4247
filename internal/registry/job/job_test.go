package job

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

const testUID = types.UID("c01635ca-0e2e-404e-8f3d-156fda2bdf9c")

// loadJob reads a scenario manifest and fills what the API server sets before
// PrepareForCreate.
func loadJob(t *testing.T, name string) *batchv1.Job {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	job := &batchv1.Job{}
	if err := yaml.UnmarshalStrict(data, job); err != nil {
		t.Fatalf("decoding %s: %v", name, err)
	}
	job.Namespace = "basic"
	job.UID = testUID
	job.Generation = 1
	job.CreationTimestamp = metav1.NewTime(time.Date(2026, 11, 22, 8, 42, 36, 0, time.UTC))
	return job
}

func create(t *testing.T, job *batchv1.Job) field.ErrorList {
	t.Helper()
	Strategy{}.PrepareForCreate(context.Background(), job)
	return Strategy{}.Validate(context.Background(), job)
}

func errorStrings(errs field.ErrorList) []string {
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

// observedSpec is the spec Kubernetes 1.34 returned for job-basic.yaml
// (spec/k8s-observed/observed/03-get-job-yaml-after-create.txt).
const observedSpec = `
backoffLimit: 6
completionMode: NonIndexed
completions: 5
manualSelector: false
parallelism: 3
podReplacementPolicy: TerminatingOrFailed
selector:
  matchLabels:
    batch.kubernetes.io/controller-uid: c01635ca-0e2e-404e-8f3d-156fda2bdf9c
suspend: false
template:
  metadata:
    labels:
      batch.kubernetes.io/controller-uid: c01635ca-0e2e-404e-8f3d-156fda2bdf9c
      batch.kubernetes.io/job-name: basic
      controller-uid: c01635ca-0e2e-404e-8f3d-156fda2bdf9c
      job-name: basic
  spec:
    containers:
    - command:
      - sh
      - -c
      - echo hello
      image: busybox
      imagePullPolicy: Always
      name: worker
      resources: {}
      terminationMessagePath: /dev/termination-log
      terminationMessagePolicy: File
    dnsPolicy: ClusterFirst
    restartPolicy: Never
    schedulerName: default-scheduler
    securityContext: {}
    terminationGracePeriodSeconds: 30
`

func TestCreateMatchesKubernetes(t *testing.T) {
	job := loadJob(t, "job-basic.yaml")
	job.Status.Active = 7
	if errs := create(t, job); len(errs) != 0 {
		t.Fatalf("unexpected errors: %v", errs)
	}
	got, err := yaml.Marshal(job.Spec)
	if err != nil {
		t.Fatal(err)
	}
	var gotMap, wantMap map[string]interface{}
	if err := yaml.Unmarshal(got, &gotMap); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(observedSpec), &wantMap); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotMap, wantMap) {
		t.Errorf("spec differs from Kubernetes'.\ngot:\n%s\nwant:%s", got, observedSpec)
	}
	wantLabels := map[string]string{
		"batch.kubernetes.io/controller-uid": string(testUID), "batch.kubernetes.io/job-name": "basic",
		"controller-uid": string(testUID), "job-name": "basic",
	}
	if !reflect.DeepEqual(job.Labels, wantLabels) {
		t.Errorf("job labels = %v, want %v", job.Labels, wantLabels)
	}
	if !reflect.DeepEqual(job.Status, batchv1.JobStatus{}) {
		t.Errorf("status not cleared: %+v", job.Status)
	}
}

func TestDefaults(t *testing.T) {
	tests := []struct {
		name                                   string
		spec                                   batchv1.JobSpec
		completions, parallelism, backoffLimit *int32
		replacement                            batchv1.PodReplacementPolicy
	}{
		{"both unset", batchv1.JobSpec{}, ptr.To[int32](1), ptr.To[int32](1), ptr.To[int32](6), batchv1.TerminatingOrFailed},
		{"work queue", batchv1.JobSpec{Parallelism: ptr.To[int32](3)}, nil, ptr.To[int32](3), ptr.To[int32](6), batchv1.TerminatingOrFailed},
		{"completions only", batchv1.JobSpec{Completions: ptr.To[int32](4)}, ptr.To[int32](4), ptr.To[int32](1), ptr.To[int32](6), batchv1.TerminatingOrFailed},
		{"per index", batchv1.JobSpec{BackoffLimitPerIndex: ptr.To[int32](1)}, ptr.To[int32](1), ptr.To[int32](1), ptr.To[int32](2147483647), batchv1.TerminatingOrFailed},
		{"pod failure policy", batchv1.JobSpec{PodFailurePolicy: &batchv1.PodFailurePolicy{}}, ptr.To[int32](1), ptr.To[int32](1), ptr.To[int32](6), batchv1.Failed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := &batchv1.Job{Spec: tt.spec}
			SetDefaults(job)
			if !reflect.DeepEqual(job.Spec.Completions, tt.completions) || !reflect.DeepEqual(job.Spec.Parallelism, tt.parallelism) ||
				!reflect.DeepEqual(job.Spec.BackoffLimit, tt.backoffLimit) || *job.Spec.PodReplacementPolicy != tt.replacement {
				t.Errorf("got completions %v parallelism %v backoffLimit %v replacement %s",
					ptrString(job.Spec.Completions), ptrString(job.Spec.Parallelism), ptrString(job.Spec.BackoffLimit), *job.Spec.PodReplacementPolicy)
			}
			if *job.Spec.CompletionMode != batchv1.NonIndexedCompletion || *job.Spec.Suspend || *job.Spec.ManualSelector {
				t.Errorf("completionMode/suspend/manualSelector defaults wrong")
			}
		})
	}
}

func ptrString(p *int32) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

func TestValidateCreate(t *testing.T) {
	tests := []struct {
		name   string
		file   string
		mutate func(*batchv1.Job)
		want   []string
	}{
		{"valid", "job-basic.yaml", nil, nil},
		{"all scenarios valid: fixed", "job-fixed.yaml", nil, nil},
		{"all scenarios valid: work queue", "job-workqueue.yaml", nil, nil},
		{"all scenarios valid: ttl", "job-ttl.yaml", nil, nil},
		{"all scenarios valid: backoff", "job-backoff.yaml", nil, nil},
		{"restart Always", "job-restart-always.yaml", nil,
			[]string{`spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`}},
		{"negative parallelism", "job-neg-parallelism.yaml", nil,
			[]string{"spec.parallelism: Invalid value: -1: must be greater than or equal to 0"}},
		{"negative completions", "job-basic.yaml", func(j *batchv1.Job) { j.Spec.Completions = ptr.To[int32](-1) },
			[]string{"spec.completions: Invalid value: -1: must be greater than or equal to 0"}},
		{"negative backoffLimit", "job-basic.yaml", func(j *batchv1.Job) { j.Spec.BackoffLimit = ptr.To[int32](-1) },
			[]string{"spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0"}},
		{"several errors", "job-neg-parallelism.yaml", func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways },
			[]string{"spec.parallelism: Invalid value: -1: must be greater than or equal to 0",
				`spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`}},
		{"restart other", "job-basic.yaml", func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = "Foo" },
			[]string{`spec.template.spec.restartPolicy: Unsupported value: "Foo": supported values: "Always", "OnFailure", "Never"`,
				`spec.template.spec.restartPolicy: Unsupported value: "Foo": supported values: "OnFailure", "Never"`}},
		{"indexed without completions", "job-workqueue.yaml", func(j *batchv1.Job) { j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion) },
			[]string{"spec.completions: Required value: when completion mode is Indexed"}},
		{"per index on NonIndexed", "job-basic.yaml", func(j *batchv1.Job) { j.Spec.BackoffLimitPerIndex = ptr.To[int32](1) },
			[]string{"spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode"}},
		{"maxFailedIndexes without per index", "job-basic.yaml", func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
			j.Spec.MaxFailedIndexes = ptr.To[int32](1)
		}, []string{"spec.backoffLimitPerIndex: Required value: when maxFailedIndexes is specified"}},
		{"pod failure policy with OnFailure", "job-basic.yaml", func(j *batchv1.Job) {
			j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: "In", Values: []int32{1}}}}}
		}, []string{`spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified`}},
		{"pod failure rule problems", "job-basic.yaml", func(j *batchv1.Job) {
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
				{Action: batchv1.PodFailurePolicyActionFailJob},
				{Action: batchv1.PodFailurePolicyActionFailIndex, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					ContainerName: ptr.To("x"), Operator: "In", Values: []int32{0, 2, 1, 1}}},
			}}
		}, []string{
			"spec.podFailurePolicy.rules[0]: Invalid value: specifying one of OnExitCodes and OnPodConditions is required",
			`spec.podFailurePolicy.rules[1].action: Invalid value: "FailIndex": requires the backoffLimitPerIndex to be set`,
			`spec.podFailurePolicy.rules[1].onExitCodes.containerName: Invalid value: "x": must be one of the container or initContainer names in the pod template`,
			"spec.podFailurePolicy.rules[1].onExitCodes.values[0]: Invalid value: 0: must not be 0 for the In operator",
			"spec.podFailurePolicy.rules[1].onExitCodes.values[3]: Duplicate value: 1",
			"spec.podFailurePolicy.rules[1].onExitCodes.values: Invalid value: [0,2,1,1]: must be ordered",
		}},
		{"replacement policy with pod failure policy", "job-basic.yaml", func(j *batchv1.Job) {
			j.Spec.PodReplacementPolicy = ptr.To(batchv1.TerminatingOrFailed)
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: "DisruptionTarget"}}}}}
		}, []string{`spec.podReplacementPolicy: Unsupported value: "TerminatingOrFailed": supported values: "Failed"`}},
		{"success policy rule without fields", "job-basic.yaml", func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{}}}
		}, []string{"spec.successPolicy.rules[0]: Required value: at least one of succeededCount or succeededIndexes must be specified"}},
		{"indexed name too long for pods", "job-basic.yaml", func(j *batchv1.Job) {
			j.Name = strings.Repeat("a", 62)
			j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
			j.Spec.Completions = ptr.To[int32](10)
		}, []string{`metadata.name: Invalid value: "` + strings.Repeat("a", 62) + `": will not able to create pod with invalid DNS label: ` + strings.Repeat("a", 62) + "-9"}},
		{"conflicting template label", "job-basic.yaml", func(j *batchv1.Job) {
			j.Spec.Template.Labels = map[string]string{"job-name": "other"}
		}, []string{
			`spec.template.metadata.labels[job-name]: Invalid value: {"batch.kubernetes.io/controller-uid":"c01635ca-0e2e-404e-8f3d-156fda2bdf9c","batch.kubernetes.io/job-name":"basic","controller-uid":"c01635ca-0e2e-404e-8f3d-156fda2bdf9c","job-name":"other"}: must be 'basic'`,
		}},
		{"user selector without manualSelector", "job-basic.yaml", func(j *batchv1.Job) {
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}
		}, []string{
			`spec.selector: Invalid value: {"matchLabels":{"app":"x","batch.kubernetes.io/controller-uid":"c01635ca-0e2e-404e-8f3d-156fda2bdf9c"}}: ` + "`selector` not auto-generated",
			`spec.template.metadata.labels: Invalid value: {"batch.kubernetes.io/controller-uid":"c01635ca-0e2e-404e-8f3d-156fda2bdf9c","batch.kubernetes.io/job-name":"basic","controller-uid":"c01635ca-0e2e-404e-8f3d-156fda2bdf9c","job-name":"basic"}: ` + "`selector` does not match template `labels`",
		}},
		{"manual selector matching", "job-basic.yaml", func(j *batchv1.Job) {
			j.Spec.ManualSelector = ptr.To(true)
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}
			j.Spec.Template.Labels = map[string]string{"app": "x"}
		}, nil},
		{"manual selector not matching", "job-basic.yaml", func(j *batchv1.Job) {
			j.Spec.ManualSelector = ptr.To(true)
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}
			j.Spec.Template.Labels = map[string]string{"app": "y"}
		}, []string{`spec.template.metadata.labels: Invalid value: {"app":"y"}: ` + "`selector` does not match template `labels`"}},
		{"no containers", "job-basic.yaml", func(j *batchv1.Job) { j.Spec.Template.Spec.Containers = nil },
			[]string{"spec.template.spec.containers: Required value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := loadJob(t, tt.file)
			if tt.mutate != nil {
				tt.mutate(job)
			}
			got := errorStrings(create(t, job))
			if !reflect.DeepEqual(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Errorf("errors:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestWarningsOnCreate(t *testing.T) {
	job := loadJob(t, "job-basic.yaml")
	job.Name = "my.job"
	w := Strategy{}.WarningsOnCreate(context.Background(), job)
	if len(w) != 1 || !strings.HasPrefix(w[0], "metadata.name: this is used in Pod names and hostnames, which can result in surprising behavior; a DNS label is recommended: [") {
		t.Errorf("warnings = %q", w)
	}
}

func update(t *testing.T, old *batchv1.Job, mutate func(*batchv1.Job)) (*batchv1.Job, []string) {
	t.Helper()
	job := old.DeepCopy()
	mutate(job)
	Strategy{}.PrepareForUpdate(context.Background(), job, old)
	return job, errorStrings(Strategy{}.ValidateUpdate(context.Background(), job, old))
}

func TestValidateUpdate(t *testing.T) {
	immutableTemplate, err := os.ReadFile(filepath.Join("testdata", "immutable-template-error.txt"))
	if err != nil {
		t.Fatal(err)
	}
	changed := loadJob(t, "job-basic-changed.yaml")
	tests := []struct {
		name      string
		suspended bool
		started   bool
		mutate    func(*batchv1.Job)
		want      []string
	}{
		{"parallelism is mutable", false, true, func(j *batchv1.Job) { j.Spec.Parallelism = ptr.To[int32](1) }, nil},
		{"command change (kubectl apply)", false, true, func(j *batchv1.Job) {
			j.Spec.Template.Spec.Containers[0].Command = changed.Spec.Template.Spec.Containers[0].Command
		}, []string{strings.TrimSpace(string(immutableTemplate))}},
		{"completions", false, true, func(j *batchv1.Job) { j.Spec.Completions = ptr.To[int32](6) },
			[]string{"spec.completions: Invalid value: 6: field is immutable"}},
		{"selector", false, true, func(j *batchv1.Job) { j.Spec.Selector.MatchLabels["foo"] = "bar" }, []string{
			`spec.selector: Invalid value: {"matchLabels":{"batch.kubernetes.io/controller-uid":"c01635ca-0e2e-404e-8f3d-156fda2bdf9c","foo":"bar"}}: ` + "`selector` not auto-generated",
			`spec.template.metadata.labels: Invalid value: {"batch.kubernetes.io/controller-uid":"c01635ca-0e2e-404e-8f3d-156fda2bdf9c","batch.kubernetes.io/job-name":"basic","controller-uid":"c01635ca-0e2e-404e-8f3d-156fda2bdf9c","job-name":"basic"}: ` + "`selector` does not match template `labels`",
			`spec.selector: Invalid value: {"matchLabels":{"batch.kubernetes.io/controller-uid":"c01635ca-0e2e-404e-8f3d-156fda2bdf9c","foo":"bar"}}: field is immutable`,
		}},
		{"replace without selector", false, true, func(j *batchv1.Job) {
			j.Spec.Selector = nil
			j.Spec.Template.Labels = nil
			j.Spec.Template.Spec.Containers[0].Command = changed.Spec.Template.Spec.Containers[0].Command
		}, []string{
			"spec.selector: Required value",
			"spec.template.metadata.labels: Invalid value: null: `selector` does not match template `labels`",
			"spec.selector: Invalid value: null: field is immutable",
			`spec.template: Invalid value: {"Spec":{"Volumes":null,`,
		}},
		{"suspended never started: node selector may change", true, false, func(j *batchv1.Job) {
			j.Spec.Template.Spec.NodeSelector = map[string]string{"disk": "ssd"}
			j.Spec.Template.Annotations = map[string]string{"a": "b"}
			j.Spec.Suspend = ptr.To(false)
		}, nil},
		{"suspended never started: command still immutable", true, false, func(j *batchv1.Job) {
			j.Spec.Template.Spec.Containers[0].Command = []string{"true"}
		}, []string{`spec.template: Invalid value: {"labels":`}},
		{"suspended after start: node selector immutable", true, true, func(j *batchv1.Job) {
			j.Spec.Template.Spec.NodeSelector = map[string]string{"disk": "ssd"}
		}, []string{`spec.template: Invalid value: {"labels":`}},
		{"indexed completions with parallelism", false, true, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := loadJob(t, "job-basic.yaml")
			old.Spec.Suspend = ptr.To(tt.suspended)
			if errs := create(t, old); len(errs) != 0 {
				t.Fatal(errs)
			}
			old.ResourceVersion = "350"
			if tt.started {
				now := metav1.Now()
				old.Status.StartTime = &now
			}
			if tt.mutate == nil {
				return
			}
			_, got := update(t, old, tt.mutate)
			if len(got) != len(tt.want) {
				t.Fatalf("errors:\n got %q\nwant %q", got, tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("error %d:\n got %q\nwant %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestIndexedCompletionsUpdate(t *testing.T) {
	old := loadJob(t, "job-basic.yaml")
	old.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
	old.Spec.Completions = ptr.To[int32](3)
	old.Spec.Parallelism = ptr.To[int32](3)
	if errs := create(t, old); len(errs) != 0 {
		t.Fatal(errs)
	}
	if _, got := update(t, old, func(j *batchv1.Job) { j.Spec.Completions, j.Spec.Parallelism = ptr.To[int32](5), ptr.To[int32](5) }); len(got) != 0 {
		t.Errorf("tandem change rejected: %q", got)
	}
	_, got := update(t, old, func(j *batchv1.Job) { j.Spec.Completions = ptr.To[int32](5) })
	want := []string{"spec.completions: Invalid value: 5: can only be modified in tandem with spec.parallelism"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors %q, want %q", got, want)
	}
}

func TestUpdateKeepsStatusAndCountsSpecChanges(t *testing.T) {
	old := loadJob(t, "job-basic.yaml")
	if errs := create(t, old); len(errs) != 0 {
		t.Fatal(errs)
	}
	old.Status.Active = 3
	job, errs := update(t, old, func(j *batchv1.Job) {
		j.Status.Active = 0
		j.Labels["x"] = "y"
	})
	if len(errs) != 0 || job.Status.Active != 3 {
		t.Fatalf("errs %v, active %d", errs, job.Status.Active)
	}
	if (Strategy{}).SpecChanged(job, old) {
		t.Error("label change counted as spec change")
	}
	job.Spec.Parallelism = ptr.To[int32](1)
	if !(Strategy{}).SpecChanged(job, old) {
		t.Error("parallelism change not counted")
	}
}

func TestStatusStrategy(t *testing.T) {
	old := loadJob(t, "job-basic.yaml")
	if errs := create(t, old); len(errs) != 0 {
		t.Fatal(errs)
	}
	job := old.DeepCopy()
	job.Spec.Parallelism = ptr.To[int32](9)
	job.Status.Active = 2
	StatusStrategy{}.PrepareForUpdate(context.Background(), job, old)
	if *job.Spec.Parallelism != 3 || job.Status.Active != 2 {
		t.Fatalf("status update: parallelism %d active %d", *job.Spec.Parallelism, job.Status.Active)
	}
	if errs := (StatusStrategy{}).ValidateUpdate(context.Background(), job, old); len(errs) != 0 {
		t.Fatal(errs)
	}
	job.Status.Failed = -1
	got := errorStrings(StatusStrategy{}.ValidateUpdate(context.Background(), job, old))
	want := []string{"status.failed: Invalid value: -1: must be greater than or equal to 0"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors %q, want %q", got, want)
	}
}

func TestAttrs(t *testing.T) {
	job := loadJob(t, "job-basic.yaml")
	job.Status.Succeeded = 2
	l, f, err := Strategy{}.AttrsFunc(job)
	if err != nil {
		t.Fatal(err)
	}
	if f["metadata.name"] != "basic" || f["metadata.namespace"] != "basic" || f["status.successful"] != "2" || l == nil && len(job.Labels) > 0 {
		t.Errorf("fields = %v", f)
	}
}
