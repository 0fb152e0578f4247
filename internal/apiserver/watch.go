package apiserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kjet-dev/kjet/internal/storage"
)

// watchStream writes one watch's events to the client.
type watchStream struct {
	s     *Server
	w     http.ResponseWriter
	r     *http.Request
	rc    *http.ResponseController
	res   *resource
	as    negotiated
	table struct{ columnsSent bool }
	// buf holds an event's encoded object, line the event being written (a JSON line
	// or a protobuf WatchEvent).
	buf  bytes.Buffer
	line []byte
	// frames, when set, carries protobuf events (length-delimited WatchEvents).
	frames io.Writer
}

// send encodes and flushes one event.
func (ws *watchStream) send(eventType watch.EventType, obj runtime.Object) error {
	out, err := ws.transform(eventType, obj)
	if err != nil {
		return err
	}
	ws.buf.Reset()
	if ws.frames != nil {
		err = ws.s.codecs.protobuf.Encode(out, &ws.buf)
	} else {
		err = ws.s.codecs.json.Encode(out, &ws.buf)
	}
	if err != nil {
		return fmt.Errorf("encoding watch event: %w", err)
	}
	// The JSON encoder ended the object with a newline; writeEvent adds its own.
	return ws.writeEvent(eventType, bytes.TrimSuffix(ws.buf.Bytes(), []byte("\n")))
}

// sendShared sends a storage event's object that every watch of the resource shares,
// with its encoding, shared too unless the client asked for a table.
func (ws *watchStream) sendShared(eventType watch.EventType, so *sharedObject) error {
	form := formObject
	switch ws.as.kind {
	case acceptTable:
		// Table cells and rows may set fields of the object: give them a copy.
		return ws.send(eventType, so.obj.DeepCopyObject())
	case acceptPartialMetadata:
		form = formPartialMetadata
	}
	mediaType := mediaJSON
	if ws.frames != nil {
		mediaType = mediaProtobuf
	}
	data, err := so.encoded(ws.s.codecs, form, mediaType)
	if err != nil {
		return err
	}
	return ws.writeEvent(eventType, data)
}

// writeEvent writes and flushes one event whose object is already encoded (without a
// trailing newline) in the stream's media type.
func (ws *watchStream) writeEvent(eventType watch.EventType, object []byte) error {
	if ws.frames != nil {
		event := &metav1.WatchEvent{Type: string(eventType), Object: runtime.RawExtension{Raw: object}}
		size := event.Size()
		if cap(ws.line) < size {
			ws.line = make([]byte, size)
		}
		n, err := event.MarshalToSizedBuffer(ws.line[:size])
		if err != nil {
			return fmt.Errorf("encoding watch event: %w", err)
		}
		if _, err := ws.frames.Write(ws.line[size-n : size]); err != nil {
			return fmt.Errorf("writing watch event: %w", err)
		}
	} else {
		ws.line = append(ws.line[:0], `{"type":"`...)
		ws.line = append(ws.line, eventType...)
		ws.line = append(ws.line, `","object":`...)
		ws.line = append(ws.line, object...)
		ws.line = append(ws.line, "}\n"...)
		if _, err := ws.w.Write(ws.line); err != nil {
			return fmt.Errorf("writing watch event: %w", err)
		}
	}
	if err := ws.rc.Flush(); err != nil {
		return fmt.Errorf("flushing watch event: %w", err)
	}
	return nil
}

// transform turns an event object into what the client asked for.
func (ws *watchStream) transform(eventType watch.EventType, obj runtime.Object) (runtime.Object, error) {
	if eventType == watch.Error {
		return obj, nil
	}
	switch ws.as.kind {
	case acceptTable:
		if eventType == watch.Bookmark {
			accessor, err := metaAccessor(obj)
			if err != nil {
				return nil, err
			}
			return &metav1.Table{
				TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "Table"},
				ListMeta: metav1.ListMeta{ResourceVersion: accessor.GetResourceVersion()},
				Rows:     []metav1.TableRow{},
			}, nil
		}
		table, err := ws.s.tableFor(ws.r, ws.res, []runtime.Object{obj}, !ws.table.columnsSent)
		if err != nil {
			return nil, err
		}
		ws.table.columnsSent = true
		return table, nil
	case acceptPartialMetadata:
		return partialMetadata(obj)
	default:
		if obj.GetObjectKind().GroupVersionKind() != ws.res.gvk {
			obj.GetObjectKind().SetGroupVersionKind(ws.res.gvk)
		}
		return obj, nil
	}
}

// bookmark is a BOOKMARK event object: the kind with only a resourceVersion.
func (ws *watchStream) bookmark(rev int64, initialEventsEnd bool) (runtime.Object, error) {
	obj := ws.res.New()
	accessor, err := metaAccessor(obj)
	if err != nil {
		return nil, err
	}
	accessor.SetResourceVersion(strconv.FormatInt(rev, 10))
	if initialEventsEnd {
		accessor.SetAnnotations(map[string]string{metav1.InitialEventsAnnotationKey: "true"})
	}
	return obj, nil
}

func (ws *watchStream) sendError(err error) {
	st, ok := err.(apierrors.APIStatus)
	if !ok {
		st = apierrors.NewInternalError(err)
	}
	status := st.Status()
	status.Kind, status.APIVersion = "Status", "v1"
	_ = ws.send(watch.Error, &status)
}

// clockTimer is the timer of k8s.io/utils/clock.
type clockTimer interface {
	C() <-chan time.Time
	Stop() bool
	Reset(d time.Duration) bool
}

// watchParams are a watch request's parameters.
type watchParams struct {
	sel               selectors
	resourceVersion   string
	sendInitialEvents bool
	bookmarks         bool
	timeout           time.Duration
}

func parseWatchParams(r *http.Request, req apiRequest) (watchParams, error) {
	q := r.URL.Query()
	sel, err := parseSelectors(r, req.res)
	if err != nil {
		return watchParams{}, err
	}
	if req.name != "" {
		// Legacy /watch/.../<name> URLs watch one object.
		sel.field = fields.AndSelectors(sel.field, fields.OneTermEqualSelector("metadata.name", req.name))
	}
	p := watchParams{
		sel:               sel,
		resourceVersion:   q.Get("resourceVersion"),
		sendInitialEvents: q.Get("sendInitialEvents") == "true",
		bookmarks:         q.Get("allowWatchBookmarks") == "true",
		// Like kube-apiserver: without timeoutSeconds a watch lasts 30 to 60 minutes.
		timeout: 30*time.Minute + time.Duration(rand.Int64N(int64(30*time.Minute))),
	}
	if v := q.Get("timeoutSeconds"); v != "" {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs < 0 {
			return watchParams{}, apierrors.NewBadRequest(fmt.Sprintf("invalid timeoutSeconds %q", v))
		}
		if secs > 0 {
			p.timeout = time.Duration(secs) * time.Second
		}
	}
	if q.Has("sendInitialEvents") && q.Get("resourceVersionMatch") != string(metav1.ResourceVersionMatchNotOlderThan) {
		return watchParams{}, apierrors.NewInvalid(metav1.SchemeGroupVersion.WithKind("ListOptions").GroupKind(), "", field.ErrorList{
			field.Forbidden(field.NewPath("resourceVersionMatch"), "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"),
		})
	}
	return p, nil
}

// serveWatch streams changes of a collection as JSON watch events.
func (s *Server) serveWatch(w http.ResponseWriter, r *http.Request, req apiRequest) {
	p, err := parseWatchParams(r, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	res := req.res
	ws := &watchStream{s: s, w: w, r: r, rc: http.NewResponseController(w), res: res, as: negotiate(r)}
	contentType := mediaJSON
	if ws.as.mediaType == mediaProtobuf && ws.as.kind != acceptTable {
		// Typed and metadata clients prefer protobuf: length-delimited WatchEvents
		// whose objects carry the protobuf envelope, like the apiserver's.
		contentType = mediaProtobuf + ";stream=watch"
		ws.frames = protobuf.LengthDelimitedFramer.NewFrameWriter(w)
	}

	// Where the watch starts: the current state (sent as ADDED events) or a given revision.
	var initial []runtime.Object
	var startRev int64
	var startErr error
	if p.sendInitialEvents || p.resourceVersion == "" || p.resourceVersion == "0" {
		initial, startRev, err = s.listAll(ctx, res, req.namespace, p.sel)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
	} else {
		startRev, err = strconv.ParseInt(p.resourceVersion, 10, 64)
		if err != nil || startRev < 0 {
			s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("invalid resource version %q", p.resourceVersion)))
			return
		}
		if current := s.store.Revision(); startRev > current {
			startErr = apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %d (%d)", startRev, current))
		}
	}
	prefix := res.collectionPrefix(req.namespace)
	var events <-chan *storage.Event
	if startErr == nil {
		events, err = s.store.Watch(ctx, prefix, startRev)
		switch {
		case errors.Is(err, storage.ErrCompacted):
			startErr = apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %d (%d)", startRev, s.store.Revision()))
		case err != nil:
			s.writeError(w, r, storageError(err, res, ""))
			return
		}
	}

	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-cache, private")
	w.WriteHeader(http.StatusOK)
	if err := ws.rc.Flush(); err != nil {
		return
	}
	if startErr != nil {
		ws.sendError(startErr)
		return
	}
	for _, obj := range initial {
		if err := ws.send(watch.Added, obj); err != nil {
			return
		}
	}
	if p.sendInitialEvents {
		mark, err := ws.bookmark(startRev, true)
		if err != nil {
			ws.sendError(err)
			return
		}
		if err := ws.send(watch.Bookmark, mark); err != nil {
			return
		}
	}

	var bookmarkC <-chan time.Time
	var bookmarkTimer clockTimer
	if p.bookmarks {
		bookmarkTimer = s.clock.NewTimer(s.opts.BookmarkInterval)
		defer bookmarkTimer.Stop()
		bookmarkC = bookmarkTimer.C()
	}
	// Created after the bookmark timer: tests with a fake clock wait for this one.
	timeout := s.clock.NewTimer(p.timeout)
	defer timeout.Stop()
	// lastRev is the revision of the last change this watch has seen (sent or
	// filtered out); a bookmark never claims more.
	lastRev := startRev
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.stopping:
			return
		case <-timeout.C():
			return
		case <-bookmarkC:
			bookmarkTimer.Reset(s.opts.BookmarkInterval)
			if lastRev == 0 {
				continue
			}
			mark, err := ws.bookmark(lastRev, false)
			if err != nil {
				ws.sendError(err)
				return
			}
			if err := ws.send(watch.Bookmark, mark); err != nil {
				return
			}
		case ev, ok := <-events:
			if !ok {
				// The store ended the subscription: shutdown, or this watch fell behind.
				// Resubscribe from the last change seen; if that is gone from the
				// store's history, tell the client to start over.
				if ctx.Err() != nil {
					return
				}
				events, err = s.store.Watch(ctx, prefix, lastRev)
				if errors.Is(err, storage.ErrCompacted) {
					ws.sendError(apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %d (%d)", lastRev, s.store.Revision())))
					return
				}
				if err != nil {
					return
				}
				continue
			}
			lastRev = ev.KV.ModRevision
			eventType, obj, err := s.convertEvent(res, ev, p.sel)
			if err != nil {
				ws.sendError(err)
				return
			}
			if obj == nil {
				continue
			}
			if err := ws.sendShared(eventType, obj); err != nil {
				return
			}
		}
	}
}

// convertEvent turns a storage event into a watch event for a watcher with sel: an
// object that stopped matching is DELETED, one that started matching is ADDED. A nil
// object means the watcher does not see the change. The object is shared with the
// other watches and must not be modified.
func (s *Server) convertEvent(res *resource, ev *storage.Event, sel selectors) (watch.EventType, *sharedObject, error) {
	switch ev.Type {
	case storage.EventDelete:
		obj, err := s.sharedValue(res, ev.KV, ev.KV.ModRevision, false)
		if err != nil {
			return "", nil, err
		}
		ok, err := s.matches(res, obj.obj, sel)
		if err != nil || !ok {
			return "", nil, err
		}
		return watch.Deleted, obj, nil
	default:
		obj, err := s.sharedValue(res, ev.KV, ev.KV.ModRevision, false)
		if err != nil {
			return "", nil, err
		}
		created := ev.KV.CreateRevision == ev.KV.ModRevision
		if sel.everything() {
			if created {
				return watch.Added, obj, nil
			}
			return watch.Modified, obj, nil
		}
		curMatch, err := s.matches(res, obj.obj, sel)
		if err != nil {
			return "", nil, err
		}
		prevMatch := false
		var prev *sharedObject
		switch {
		case created:
		case ev.PrevKV != nil:
			prev, err = s.sharedValue(res, *ev.PrevKV, ev.KV.ModRevision, true)
			if err != nil {
				return "", nil, err
			}
			if prevMatch, err = s.matches(res, prev.obj, sel); err != nil {
				return "", nil, err
			}
		default:
			// No previous value from the store: assume the match did not change.
			prevMatch = curMatch
		}
		switch {
		case curMatch && prevMatch:
			return watch.Modified, obj, nil
		case curMatch:
			return watch.Added, obj, nil
		case prevMatch && prev != nil:
			return watch.Deleted, prev, nil
		default:
			return "", nil, nil
		}
	}
}

// sharedValue decodes kv, a value of the change at rev (its own, or the one before it
// when prev), once for every watch of res; the object's resourceVersion is rev.
func (s *Server) sharedValue(res *resource, kv storage.KeyValue, rev int64, prev bool) (*sharedObject, error) {
	k := eventValueKey{res: res, key: kv.Key, rev: rev, prev: prev}
	return s.watchEvents.get(k, len(kv.Value), func() (runtime.Object, error) {
		return s.decodeKV(res, kv.Value, rev)
	})
}
