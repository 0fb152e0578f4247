package apiserver

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kjet-dev/kjet/internal/storage"
)

// rawEvent is one watch event as sent on the wire.
type rawEvent struct {
	Type   string          `json:"type"`
	Object json.RawMessage `json:"object"`
}

func (ev rawEvent) meta(t testing.TB) metav1.ObjectMeta {
	t.Helper()
	var obj struct {
		Kind     string            `json:"kind"`
		Metadata metav1.ObjectMeta `json:"metadata"`
	}
	if err := json.Unmarshal(ev.Object, &obj); err != nil {
		t.Fatalf("decoding %s: %v", ev.Object, err)
	}
	return obj.Metadata
}

// watchReader reads a watch stream in the background.
type watchReader struct {
	t      testing.TB
	code   int
	header http.Header
	events chan rawEvent
	done   chan struct{}
}

func (e *testEnv) watch(path string, headers ...string) *watchReader {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", e.http.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ": ")
		req.Header.Set(name, value)
	}
	resp, err := e.http.Client().Do(req)
	if err != nil {
		cancel()
		e.t.Fatalf("watch %s: %v", path, err)
	}
	w := &watchReader{t: e.t, code: resp.StatusCode, header: resp.Header, events: make(chan rawEvent, 100), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		defer close(w.events)
		scanner := bufio.NewScanner(resp.Body)
		scanner.Buffer(make([]byte, 1<<20), 1<<20)
		for scanner.Scan() {
			var ev rawEvent
			if err := json.Unmarshal(scanner.Bytes(), &ev); err != nil {
				ev = rawEvent{Type: "UNPARSEABLE", Object: json.RawMessage(`"` + scanner.Text() + `"`)}
			}
			w.events <- ev
		}
	}()
	e.t.Cleanup(func() {
		cancel()
		resp.Body.Close()
		<-w.done
	})
	return w
}

func (w *watchReader) next() rawEvent {
	w.t.Helper()
	select {
	case ev, ok := <-w.events:
		if !ok {
			w.t.Fatalf("watch ended, wanted an event")
		}
		return ev
	case <-time.After(10 * time.Second):
		w.t.Fatalf("no watch event within 10s")
	}
	return rawEvent{}
}

func (w *watchReader) expect(eventType, name string) rawEvent {
	w.t.Helper()
	ev := w.next()
	if ev.Type != eventType || (name != "" && ev.meta(w.t).Name != name) {
		w.t.Fatalf("got %s %s, want %s %s", ev.Type, ev.Object, eventType, name)
	}
	return ev
}

func (w *watchReader) expectEnd() {
	w.t.Helper()
	select {
	case ev, ok := <-w.events:
		if ok {
			w.t.Fatalf("got %s %s, want the end of the watch", ev.Type, ev.Object)
		}
	case <-time.After(10 * time.Second):
		w.t.Fatalf("watch did not end within 10s")
	}
}

func cmJSON(name string, labels string) string {
	return `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"` + name + `","labels":{` + labels + `}}}`
}

func TestWatchFromZeroSendsCurrentStateThenChanges(t *testing.T) {
	e := newTestEnv(t)
	e.mustDo(201, "POST", cmPath, "application/json", cmJSON("a", ""))
	w := e.watch(cmPath + "?watch=true&resourceVersion=0")
	if w.code != 200 || w.header.Get("Content-Type") != "application/json" {
		t.Fatalf("watch answered %d %q", w.code, w.header.Get("Content-Type"))
	}
	w.expect("ADDED", "a")
	e.mustDo(201, "POST", cmPath, "application/json", cmJSON("b", ""))
	w.expect("ADDED", "b")
	e.mustDo(200, "PATCH", cmPath+"/a", "application/merge-patch+json", `{"data":{"x":"y"}}`)
	modified := w.expect("MODIFIED", "a")
	e.mustDo(200, "DELETE", cmPath+"/a", "", "")
	deleted := w.expect("DELETED", "a")
	if deleted.meta(t).ResourceVersion <= modified.meta(t).ResourceVersion {
		t.Errorf("DELETED rv %s not after MODIFIED rv %s", deleted.meta(t).ResourceVersion, modified.meta(t).ResourceVersion)
	}
}

func TestWatchFromResourceVersion(t *testing.T) {
	e := newTestEnv(t)
	var list corev1.ConfigMapList
	e.mustDo(201, "POST", cmPath, "application/json", cmJSON("old", ""))
	e.mustDo(200, "GET", cmPath, "", "").decode(t, &list)
	e.mustDo(201, "POST", cmPath, "application/json", cmJSON("new", ""))
	w := e.watch(cmPath + "?watch=true&resourceVersion=" + list.ResourceVersion)
	w.expect("ADDED", "new")
}

func TestWatchSelectorTransitions(t *testing.T) {
	e := newTestEnv(t)
	w := e.watch(cmPath + "?watch=1&labelSelector=app%3Dweb&resourceVersion=0")
	e.mustDo(201, "POST", cmPath, "application/json", cmJSON("other", `"app":"db"`))
	e.mustDo(201, "POST", cmPath, "application/json", cmJSON("x", `"app":"db"`))
	e.mustDo(200, "PATCH", cmPath+"/x", "application/merge-patch+json", `{"metadata":{"labels":{"app":"web"}}}`)
	w.expect("ADDED", "x")
	e.mustDo(200, "PATCH", cmPath+"/x", "application/merge-patch+json", `{"data":{"k":"v"}}`)
	w.expect("MODIFIED", "x")
	e.mustDo(200, "PATCH", cmPath+"/x", "application/merge-patch+json", `{"metadata":{"labels":{"app":"db"}}}`)
	ev := w.expect("DELETED", "x")
	var cm corev1.ConfigMap
	if err := json.Unmarshal(ev.Object, &cm); err != nil {
		t.Fatal(err)
	}
	if cm.Labels["app"] != "web" {
		t.Errorf("DELETED for a selector change carries %v, want the last matching state", cm.Labels)
	}
}

func TestWatchFieldSelectorByName(t *testing.T) {
	e := newTestEnv(t)
	e.mustDo(201, "POST", cmPath, "application/json", cmJSON("a", ""))
	e.mustDo(201, "POST", cmPath, "application/json", cmJSON("b", ""))
	w := e.watch(cmPath + "?watch=true&fieldSelector=metadata.name%3Db&resourceVersion=0")
	w.expect("ADDED", "b")
	e.mustDo(200, "PATCH", cmPath+"/a", "application/merge-patch+json", `{"data":{"k":"v"}}`)
	e.mustDo(200, "PATCH", cmPath+"/b", "application/merge-patch+json", `{"data":{"k":"v"}}`)
	w.expect("MODIFIED", "b")
	// The legacy /watch/ path with a name is the same watch.
	legacy := e.watch("/api/v1/watch/namespaces/default/configmaps/a?resourceVersion=0")
	legacy.expect("ADDED", "a")
}

func TestWatchListSendsInitialEventsEndBookmark(t *testing.T) {
	e := newTestEnv(t)
	e.mustDo(201, "POST", cmPath, "application/json", cmJSON("a", ""))
	e.mustDo(201, "POST", cmPath, "application/json", cmJSON("b", ""))
	w := e.watch(cmPath + "?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true")
	w.expect("ADDED", "a")
	w.expect("ADDED", "b")
	mark := w.expect("BOOKMARK", "")
	m := mark.meta(t)
	if m.Annotations[metav1.InitialEventsAnnotationKey] != "true" || m.ResourceVersion == "" {
		t.Fatalf("bookmark = %s", mark.Object)
	}
	e.mustDo(201, "POST", cmPath, "application/json", cmJSON("c", ""))
	w.expect("ADDED", "c")

	st := e.mustDo(422, "GET", cmPath+"?watch=true&sendInitialEvents=true", "", "").status(t)
	if st.Reason != metav1.StatusReasonInvalid {
		t.Errorf("sendInitialEvents without NotOlderThan: %+v", st)
	}
}

func TestWatchPeriodicBookmarks(t *testing.T) {
	e := newTestEnv(t)
	var list corev1.ConfigMapList
	e.mustDo(200, "GET", cmPath, "", "").decode(t, &list)
	w := e.watch(cmPath + "?watch=true&allowWatchBookmarks=true&resourceVersion=" + list.ResourceVersion)
	deadline := time.Now().Add(10 * time.Second)
	for !e.clock.HasWaiters() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	e.clock.Step(e.server.opts.BookmarkInterval)
	mark := w.expect("BOOKMARK", "")
	if got := mark.meta(t).ResourceVersion; got != list.ResourceVersion {
		t.Errorf("bookmark rv %s, want %s", got, list.ResourceVersion)
	}
}

func TestWatchTooOldOrTooNewResourceVersion(t *testing.T) {
	e := newTestEnv(t)
	w := e.watch(cmPath + "?watch=true&resourceVersion=999999")
	ev := w.expect("ERROR", "")
	var st metav1.Status
	if err := json.Unmarshal(ev.Object, &st); err != nil {
		t.Fatal(err)
	}
	if st.Code != 410 || st.Reason != metav1.StatusReasonExpired {
		t.Errorf("status = %+v", st)
	}
	w.expectEnd()
}

func TestWatchTimeoutSeconds(t *testing.T) {
	e := newTestEnv(t)
	w := e.watch(cmPath + "?watch=true&timeoutSeconds=5&resourceVersion=0")
	deadline := time.Now().Add(10 * time.Second)
	for !e.clock.HasWaiters() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	e.clock.Step(5 * time.Second)
	w.expectEnd()
}

func TestWatchTable(t *testing.T) {
	e := newTestEnv(t)
	e.mustDo(201, "POST", cmPath, "application/json", cmJSON("a", ""))
	w := e.watch(cmPath+"?watch=true&resourceVersion=0", "Accept: "+tableAccept)
	first := w.expect("ADDED", "")
	var table metav1.Table
	if err := json.Unmarshal(first.Object, &table); err != nil {
		t.Fatal(err)
	}
	if table.Kind != "Table" || len(table.ColumnDefinitions) == 0 || len(table.Rows) != 1 || table.Rows[0].Cells[0] != "a" {
		t.Fatalf("first table event = %s", first.Object)
	}
	e.mustDo(201, "POST", cmPath, "application/json", cmJSON("b", ""))
	second := w.expect("ADDED", "")
	table = metav1.Table{}
	if err := json.Unmarshal(second.Object, &table); err != nil {
		t.Fatal(err)
	}
	if len(table.ColumnDefinitions) != 0 || len(table.Rows) != 1 || table.Rows[0].Cells[0] != "b" {
		t.Fatalf("second table event = %s", second.Object)
	}
}

func (ev rawEvent) decodeInto(t testing.TB, into interface{}) {
	t.Helper()
	if err := json.Unmarshal(ev.Object, into); err != nil {
		t.Fatalf("decoding %s: %v", ev.Object, err)
	}
}

func TestWatchEndsWhenRunStops(t *testing.T) {
	e := newTestEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.server.Run(ctx) }()
	w := e.watch(cmPath + "?watch=true&resourceVersion=0")
	e.mustDo(201, "POST", cmPath, "application/json", cmJSON("a", ""))
	w.expect("ADDED", "a")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	w.expectEnd()
}

func TestWatchProtobufContentType(t *testing.T) {
	e := newTestEnv(t)
	w := e.watch(cmPath+"?watch=true&resourceVersion=0&timeoutSeconds=1", "Accept: application/vnd.kubernetes.protobuf, application/json")
	if got := w.header.Get("Content-Type"); got != "application/vnd.kubernetes.protobuf;stream=watch" {
		t.Errorf("Content-Type = %q", got)
	}
	tw := e.watch(cmPath+"?watch=true&resourceVersion=0&timeoutSeconds=1", "Accept: "+tableAccept)
	if got := tw.header.Get("Content-Type"); got != "application/json" {
		t.Errorf("table watch Content-Type = %q", got)
	}
}

// flakyWatchStore ends every storage watch after one event, like a store dropping a
// watcher that fell behind.
type flakyWatchStore struct {
	storage.Interface
}

func (s flakyWatchStore) Watch(ctx context.Context, prefix string, after int64) (<-chan *storage.Event, error) {
	in, err := s.Interface.Watch(ctx, prefix, after)
	if err != nil {
		return nil, err
	}
	out := make(chan *storage.Event, 1)
	go func() {
		defer close(out)
		select {
		case ev, ok := <-in:
			if ok {
				out <- ev
			}
		case <-ctx.Done():
		}
	}()
	return out, nil
}

func TestWatchResubscribesWhenTheStoreEndsIt(t *testing.T) {
	e := newTestEnv(t, func(o *Options) { o.Storage = flakyWatchStore{o.Storage} })
	w := e.watch(cmPath + "?watch=true&resourceVersion=0")
	for _, name := range []string{"a", "b", "c"} {
		e.mustDo(201, "POST", cmPath, "application/json", cmJSON(name, ""))
	}
	w.expect("ADDED", "a")
	w.expect("ADDED", "b")
	w.expect("ADDED", "c")
}
