//go:build tools

// Package tools pins modules that kjet uses so that go mod tidy keeps them while the code that uses them is written.
package tools

import (
	_ "github.com/containerd/cgroups/v3/cgroup2"
	_ "github.com/creack/pty"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/robfig/cron/v3"
	_ "github.com/spf13/cobra"
	_ "go.etcd.io/bbolt"
	_ "gopkg.in/evanphx/json-patch.v4"
	_ "k8s.io/api/batch/v1"
	_ "k8s.io/apimachinery/pkg/util/managedfields"
	_ "k8s.io/apimachinery/pkg/util/strategicpatch"
	_ "k8s.io/client-go/kubernetes"
	_ "k8s.io/client-go/kubernetes/fake"
	_ "k8s.io/client-go/tools/record"
	_ "k8s.io/kube-openapi/pkg/handler3"
	_ "k8s.io/kube-openapi/pkg/builder3"
	_ "k8s.io/kubectl/pkg/cmd"
	_ "k8s.io/streaming/pkg/httpstream/wsstream"
	_ "k8s.io/streaming/pkg/httpstream/spdy"
	_ "k8s.io/utils/clock/testing"
	_ "sigs.k8s.io/structured-merge-diff/v6/typed"
)

