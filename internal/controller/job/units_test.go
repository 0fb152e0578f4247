package job

import (
	"slices"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clocktesting "k8s.io/utils/clock/testing"
)

func TestIndexSetString(t *testing.T) {
	cases := map[string]struct {
		ixs  []int
		want string
	}{
		"empty":            {nil, ""},
		"run of four":      {[]int{0, 1, 2, 3}, "0-3"},
		"pairs stay apart": {[]int{0, 2, 3, 5}, "0,2,3,5"},
		"mixed":            {[]int{0, 1, 2, 4, 5, 7}, "0-2,4,5,7"},
		"singleton":        {[]int{9}, "9"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := indexSet(nil).with(tc.ixs)
			if got := s.String(); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if back := parseIndexSet(tc.want, 100).String(); back != tc.want {
				t.Fatalf("round trip %q", back)
			}
			if s.total() != len(tc.ixs) {
				t.Fatalf("total %d", s.total())
			}
		})
	}
}

func TestIndexSetOps(t *testing.T) {
	s := parseIndexSet("1,3-5,9", 8)
	if got := s.String(); got != "1,3-5" {
		t.Fatalf("limit not applied: %q", got)
	}
	s = s.with([]int{0, 2, 6})
	if got := s.String(); got != "0-6" {
		t.Fatalf("merge: %q", got)
	}
	u := parseIndexSet("1", 10).union(parseIndexSet("3,4", 10))
	if got := u.String(); got != "1,3,4" || !u.has(3) || u.has(2) {
		t.Fatalf("union %q", got)
	}
	if got := parseIndexSet("x,2-1,4", 10).String(); got != "4" {
		t.Fatalf("bad parts not skipped: %q", got)
	}
}

func TestBackoffDelay(t *testing.T) {
	want := []time.Duration{0, 10, 20, 40, 80, 160, 320, 600, 600}
	for failures, w := range want {
		if got := backoffDelay(10*time.Second, 10*time.Minute, int32(failures)); got != w*time.Second {
			t.Errorf("failures %d: %v, want %v", failures, got, w*time.Second)
		}
	}
	clk := clocktesting.NewFakeClock(testNow)
	last := testNow.Add(-15 * time.Second)
	if got := remaining(clk, 10*time.Second, 10*time.Minute, 2, &last); got != 5*time.Second {
		t.Errorf("remaining %v, want 5s", got)
	}
	if got := remaining(clk, 10*time.Second, 10*time.Minute, 1, &last); got != 0 {
		t.Errorf("remaining %v, want 0", got)
	}
}

func TestPodGenerateName(t *testing.T) {
	j := newJob("pi", 1, 1)
	if got := podGenerateName(j, noIndex); got != "pi-" {
		t.Errorf("got %q", got)
	}
	if got := podGenerateName(j, 12); got != "pi-12-" {
		t.Errorf("got %q", got)
	}
}

func TestSortByCompletionIndex(t *testing.T) {
	pod := func(name, index string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if index != "" {
			p.Annotations = map[string]string{batchv1.JobCompletionIndexAnnotation: index}
		}
		return p
	}
	cases := []struct {
		name string
		pods []*corev1.Pod
		want []string
	}{
		{name: "empty", pods: nil, want: []string{}},
		{name: "by index", pods: []*corev1.Pod{pod("c", "2"), pod("a", "0"), pod("b", "1")}, want: []string{"a", "b", "c"}},
		{name: "same index keeps order", pods: []*corev1.Pod{pod("x", "1"), pod("y", "0"), pod("z", "1")}, want: []string{"y", "x", "z"}},
		{name: "no or bad index first, in order", pods: []*corev1.Pod{pod("a", "3"), pod("b", ""), pod("c", "bad"), pod("d", "0")}, want: []string{"b", "c", "d", "a"}},
		{name: "numeric not lexical", pods: []*corev1.Pod{pod("ten", "10"), pod("nine", "9")}, want: []string{"nine", "ten"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sortByCompletionIndex(tc.pods)
			got := []string{}
			for _, p := range tc.pods {
				got = append(got, p.Name)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("order %v, want %v", got, tc.want)
			}
		})
	}
}
