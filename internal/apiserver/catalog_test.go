package apiserver

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kjet-dev/kjet/internal/registry/catalog"
)

// newCatalogEnv serves every resource kjet serves.
func newCatalogEnv(t *testing.T) *testEnv {
	return newTestEnv(t, func(o *Options) { o.Resources = catalog.Resources() })
}

func TestCatalogServes(t *testing.T) {
	e := newCatalogEnv(t)
	client, err := kubernetes.NewForConfig(&rest.Config{Host: e.http.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := client.CoreV1().ServiceAccounts("kube-system").Get(ctx, "default", metav1.GetOptions{}); err != nil {
		t.Fatalf("default service account: %v", err)
	}
	groups, resources, err := client.Discovery().ServerGroupsAndResources()
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	if len(groups) < 3 || len(resources) < 3 {
		t.Errorf("discovery: %d groups, %d resource lists", len(groups), len(resources))
	}
	job := &batchv1.Job{}
	if err := runtimeDecode(e, []byte(strings.ReplaceAll(jobBody, `"pi"`, `"cat"`)), job); err != nil {
		t.Fatal(err)
	}
	job.Kind, job.APIVersion = "", ""
	created, err := client.BatchV1().Jobs("default").Create(ctx, job, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create job: %v", err)
	}
	if created.Spec.Completions == nil || created.Spec.BackoffLimit == nil {
		t.Errorf("job defaults missing: completions %v backoffLimit %v", created.Spec.Completions, created.Spec.BackoffLimit)
	}
}

func runtimeDecode(e *testEnv, data []byte, into *batchv1.Job) error {
	_, err := e.server.codecs.decodeBody(data, mediaJSON, validationStrict, e.server.byGroupVersion["batch/v1"]["jobs"], into)
	return err
}

const kubectlCronJobYAML = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: cj
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: c
            image: busybox
`

func TestKubectlWithCatalog(t *testing.T) {
	binary := kubectlBinary(t, "33")
	e := newCatalogEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.server.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	k := kubectlRunner{t: t, binary: binary, server: e.http.URL, home: t.TempDir()}
	tests := []struct {
		name    string
		stdin   string
		args    []string
		wantOut []string
	}{
		{name: "create job", stdin: kubectlJobYAML, args: []string{"create", "--validate=false", "-f", "-"}, wantOut: []string{"job.batch/pi created"}},
		{name: "get jobs", args: []string{"get", "jobs"}, wantOut: []string{"NAME", "STATUS", "COMPLETIONS", "pi"}},
		{name: "get jobs wide", args: []string{"get", "jobs", "-o", "wide"}, wantOut: []string{"CONTAINERS", "busybox"}},
		{name: "describe job", args: []string{"describe", "job", "pi"}, wantOut: []string{"Name:", "pi", "Completions:"}},
		{name: "create cronjob", stdin: kubectlCronJobYAML, args: []string{"create", "--validate=false", "-f", "-"}, wantOut: []string{"cronjob.batch/cj created"}},
		{name: "create job from cronjob (protobuf)", args: []string{"create", "job", "manual", "--from=cronjob/cj"}, wantOut: []string{"job.batch/manual created"}},
		{name: "create cronjob generator", args: []string{"create", "cronjob", "gen", "--image=busybox", "--schedule=*/1 * * * *"}, wantOut: []string{"cronjob.batch/gen created"}},
		{name: "get cj", args: []string{"get", "cj"}, wantOut: []string{"SCHEDULE", "cj", "gen"}},
		{name: "get all", args: []string{"get", "all"}, wantOut: []string{"job.batch/pi", "cronjob.batch/cj"}},
		{name: "get namespaces", args: []string{"get", "ns"}, wantOut: []string{"STATUS", "kube-node-lease"}},
		{name: "get sa", args: []string{"get", "sa", "-A"}, wantOut: []string{"default"}},
		{name: "describe namespace", args: []string{"describe", "ns", "default"}, wantOut: []string{"Name:", "default", "Status:", "Active"}},
		{name: "create namespace", args: []string{"create", "ns", "tmp"}, wantOut: []string{"namespace/tmp created"}},
		{name: "create in namespace", args: []string{"create", "cm", "x", "-n", "tmp", "--from-literal=a=b"}, wantOut: []string{"configmap/x created"}},
		{name: "delete namespace waits until gone", args: []string{"delete", "ns", "tmp"}, wantOut: []string{`namespace "tmp" deleted`}},
		{name: "delete job background", args: []string{"delete", "job", "manual", "--cascade=background"}, wantOut: []string{`job.batch "manual" deleted`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := k.run(tt.stdin, tt.args...)
			if err != nil {
				t.Fatalf("%v\nstdout: %s\nstderr: %s", err, out, errOut)
			}
			t.Logf("kubectl %s:\n%s%s", strings.Join(tt.args, " "), out, errOut)
			for _, want := range tt.wantOut {
				if !strings.Contains(out, want) {
					t.Errorf("stdout lacks %q:\n%s\nstderr: %s", want, out, errOut)
				}
			}
		})
	}
}

func TestScaleSubresource(t *testing.T) {
	e := newCatalogEnv(t)
	rsPath := "/apis/apps/v1/namespaces/default/replicasets"
	e.mustDo(201, "POST", rsPath, "application/json", `{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"rs"},"spec":{"replicas":1,"selector":{"matchLabels":{"app":"a"}},"template":{"metadata":{"labels":{"app":"a"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}`)
	var scale autoscalingv1.Scale
	e.mustDo(200, "GET", rsPath+"/rs/scale", "", "").decode(t, &scale)
	if scale.Kind != "Scale" || scale.Spec.Replicas != 1 || scale.Status.Selector != "app=a" {
		t.Fatalf("scale = %+v", scale)
	}
	e.mustDo(200, "PATCH", rsPath+"/rs/scale", "application/merge-patch+json", `{"spec":{"replicas":3}}`).decode(t, &scale)
	if scale.Spec.Replicas != 3 {
		t.Errorf("patched scale = %+v", scale)
	}
	var rs appsv1.ReplicaSet
	e.mustDo(200, "GET", rsPath+"/rs", "", "").decode(t, &rs)
	if *rs.Spec.Replicas != 3 || rs.Generation != 2 {
		t.Errorf("replicaset after scale: replicas %d generation %d", *rs.Spec.Replicas, rs.Generation)
	}
	scale.Spec.Replicas = 5
	scale.ResourceVersion = "1"
	body, _ := json.Marshal(scale)
	e.mustDo(409, "PUT", rsPath+"/rs/scale", "application/json", string(body))
	scale.ResourceVersion = ""
	body, _ = json.Marshal(scale)
	e.mustDo(200, "PUT", rsPath+"/rs/scale", "application/json", string(body))

	var resources metav1.APIResourceList
	e.mustDo(200, "GET", "/apis/apps/v1", "", "").decode(t, &resources)
	found := false
	for _, r := range resources.APIResources {
		if r.Name == "replicasets/scale" && r.Group == "autoscaling" && r.Kind == "Scale" {
			found = true
		}
	}
	if !found {
		t.Errorf("no replicasets/scale in discovery: %+v", resources.APIResources)
	}

	binary := kubectlBinary(t, "33")
	k := kubectlRunner{t: t, binary: binary, server: e.http.URL, home: t.TempDir()}
	out, errOut, err := k.run("", "scale", "rs/rs", "--replicas=2")
	if err != nil || !strings.Contains(out, "replicaset.apps/rs scaled") {
		t.Fatalf("kubectl scale: %v\n%s%s", err, out, errOut)
	}
}
