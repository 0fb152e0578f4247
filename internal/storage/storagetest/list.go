package storagetest

import (
	"context"
	"testing"

	"github.com/kjet-dev/kjet/internal/storage"
)

// listFixture is the key set the list cases read: siblings that share a string prefix
// (default vs default2) must not leak into each other's listings.
var listFixture = []string{
	"/registry/pods/default/a",
	"/registry/pods/default/b",
	"/registry/pods/default/c",
	"/registry/pods/default2/x",
	"/registry/pods/kube-system/y",
	"/registry/batch/jobs/default/pi",
}

func createFixture(t *testing.T, s storage.Interface) int64 {
	t.Helper()
	var rev int64
	for _, k := range listFixture {
		rev = mustCreate(t, s, k, "value of "+k)
	}
	return rev
}

func testList(t *testing.T, s storage.Interface) {
	rev := createFixture(t, s)
	for _, tc := range []struct {
		name   string
		prefix string
		want   []string
	}{
		{"namespace", "/registry/pods/default/", []string{"/registry/pods/default/a", "/registry/pods/default/b", "/registry/pods/default/c"}},
		{"sibling namespace", "/registry/pods/default2/", []string{"/registry/pods/default2/x"}},
		{"resource", "/registry/pods/", []string{
			"/registry/pods/default/a", "/registry/pods/default/b", "/registry/pods/default/c",
			"/registry/pods/default2/x", "/registry/pods/kube-system/y",
		}},
		{"other group", "/registry/batch/", []string{"/registry/batch/jobs/default/pi"}},
		{"nothing", "/registry/cronjobs/", nil},
		{"everything", "", []string{
			"/registry/batch/jobs/default/pi",
			"/registry/pods/default/a", "/registry/pods/default/b", "/registry/pods/default/c",
			"/registry/pods/default2/x", "/registry/pods/kube-system/y",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.List(context.Background(), tc.prefix, storage.ListOptions{})
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if got := keysOf(res.Items); !sameKeys(got, tc.want) {
				t.Errorf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
			}
			if res.More {
				t.Errorf("More = true without a limit")
			}
			if res.Revision != rev {
				t.Errorf("Revision = %d, want %d", res.Revision, rev)
			}
			for _, kv := range res.Items {
				if string(kv.Value) != "value of "+kv.Key || kv.ModRevision == 0 || kv.CreateRevision != kv.ModRevision {
					t.Errorf("item %+v has the wrong value or revisions", kv)
				}
			}
		})
	}
}

func testListPages(t *testing.T, s storage.Interface) {
	createFixture(t, s)
	const prefix = "/registry/pods/"
	for _, tc := range []struct {
		name     string
		opts     storage.ListOptions
		want     []string
		wantMore bool
	}{
		{"first page", storage.ListOptions{Limit: 2}, []string{"/registry/pods/default/a", "/registry/pods/default/b"}, true},
		{"middle page", storage.ListOptions{Limit: 2, After: "/registry/pods/default/b"}, []string{"/registry/pods/default/c", "/registry/pods/default2/x"}, true},
		{"last page exactly full", storage.ListOptions{Limit: 2, After: "/registry/pods/default/c"}, []string{"/registry/pods/default2/x", "/registry/pods/kube-system/y"}, false},
		{"last page short", storage.ListOptions{Limit: 3, After: "/registry/pods/default2/x"}, []string{"/registry/pods/kube-system/y"}, false},
		{"after the end", storage.ListOptions{Limit: 3, After: "/registry/pods/kube-system/y"}, nil, false},
		{"after a missing key", storage.ListOptions{Limit: 1, After: "/registry/pods/default/bb"}, []string{"/registry/pods/default/c"}, true},
		{"after before the prefix", storage.ListOptions{Limit: 1, After: "/registry/batch/jobs/default/pi"}, []string{"/registry/pods/default/a"}, true},
		{"limit equals count", storage.ListOptions{Limit: 5}, listFixture[:5], false},
		{"after without limit", storage.ListOptions{After: "/registry/pods/default/c"}, []string{"/registry/pods/default2/x", "/registry/pods/kube-system/y"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.List(context.Background(), prefix, tc.opts)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if got := keysOf(res.Items); !sameKeys(got, tc.want) {
				t.Errorf("List(%q, %+v) = %q, want %q", prefix, tc.opts, got, tc.want)
			}
			if res.More != tc.wantMore {
				t.Errorf("More = %v, want %v", res.More, tc.wantMore)
			}
		})
	}
	// Walking the pages one item at a time visits every key once, in order.
	var walked []string
	after := ""
	for {
		res, err := s.List(context.Background(), prefix, storage.ListOptions{Limit: 1, After: after})
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		walked = append(walked, keysOf(res.Items)...)
		if !res.More {
			break
		}
		after = res.Items[len(res.Items)-1].Key
	}
	if !sameKeys(walked, listFixture[:5]) {
		t.Errorf("paged walk = %q, want %q", walked, listFixture[:5])
	}
}
