package apiserver

import (
	"bytes"
	"fmt"
	"mime"
	"net/http"
	"strings"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	clientscheme "k8s.io/client-go/kubernetes/scheme"
)

// Media types the server speaks.
const (
	mediaJSON     = "application/json"
	mediaYAML     = "application/yaml"
	mediaProtobuf = "application/vnd.kubernetes.protobuf"
)

// codecs bundles the scheme and the serializers built from it. It is immutable after
// newCodecs and shared by every request of a Server.
type codecs struct {
	scheme *runtime.Scheme
	// json and prettyJSON encode responses; protobuf (and json, for values older
	// kjet versions wrote) also encode and decode stored values.
	json       *json.Serializer
	prettyJSON *json.Serializer
	yaml       *json.Serializer
	protobuf   *protobuf.Serializer
	// decoders are the request-body decoders by media type.
	decoders map[string]bodyDecoders
}

// bodyDecoders are the lenient and strict decoders of one media type.
type bodyDecoders struct {
	lenient, strict runtime.Decoder
}

func newCodecs() (*codecs, error) {
	scheme := runtime.NewScheme()
	if err := clientscheme.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("adding client-go types to the scheme: %w", err)
	}
	if err := metav1.AddMetaToScheme(scheme); err != nil {
		return nil, fmt.Errorf("adding meta.k8s.io types to the scheme: %w", err)
	}
	if err := apidiscoveryv2.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("adding apidiscovery types to the scheme: %w", err)
	}
	metav1.AddToGroupVersion(scheme, apidiscoveryv2.SchemeGroupVersion)
	c := &codecs{
		scheme:     scheme,
		json:       json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme, json.SerializerOptions{}),
		prettyJSON: json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme, json.SerializerOptions{Pretty: true}),
		yaml:       json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme, json.SerializerOptions{Yaml: true}),
		protobuf:   protobuf.NewSerializer(scheme, scheme),
	}
	c.decoders = map[string]bodyDecoders{
		mediaJSON: {
			lenient: c.json,
			strict:  json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme, json.SerializerOptions{Strict: true}),
		},
		mediaYAML: {
			lenient: c.yaml,
			strict:  json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme, json.SerializerOptions{Yaml: true, Strict: true}),
		},
		mediaProtobuf: {lenient: c.protobuf, strict: c.protobuf},
	}
	return c, nil
}

// storageProtobufPrefix starts every value stored as protobuf: the magic number of
// apimachinery's protobuf serializer ("k8s" and encoding 0, a runtime.Unknown), the
// format kube-apiserver stores built-in types in etcd. Values stored as JSON by older
// kjet versions start with "{".
var storageProtobufPrefix = []byte{'k', '8', 's', 0}

// protobufObject is what an object needs to be stored as protobuf: every client-go
// type has it (generated.pb.go).
type protobufObject interface {
	Marshal() ([]byte, error)
	Unmarshal([]byte) error
}

// encodeStorage encodes obj for storage, without its resourceVersion: as protobuf,
// or as JSON for a type without protobuf support.
func (c *codecs) encodeStorage(obj runtime.Object, gvk schema.GroupVersionKind) ([]byte, error) {
	accessor, err := metaAccessor(obj)
	if err != nil {
		return nil, err
	}
	rv := accessor.GetResourceVersion()
	accessor.SetResourceVersion("")
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	var data []byte
	if _, ok := obj.(protobufObject); ok {
		data, err = c.encodeProtobuf(obj)
	} else {
		data, err = encodeWith(c.json, obj)
	}
	accessor.SetResourceVersion(rv)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", gvk.Kind, err)
	}
	return data, nil
}

// encodeProtobuf is obj in Kubernetes' protobuf envelope, in a slice of exactly its
// size: the serializer sizes the object, allocates one buffer for it (through
// protobufBuffer) and writes that buffer once, and the buffer is kept rather than
// copied into a growing bytes.Buffer (which allocated about twice the object again
// on every write, response and watch event).
func (c *codecs) encodeProtobuf(obj runtime.Object) ([]byte, error) {
	var b protobufBuffer
	if err := c.protobuf.EncodeWithAllocator(obj, &b, &b); err != nil {
		return nil, err
	}
	return b.out, nil
}

// protobufBuffer is the allocator and the writer of one protobuf encoding. A write of
// the buffer it allocated is kept as it is; anything else is appended.
type protobufBuffer struct {
	alloc []byte // the last buffer handed out
	out   []byte
}

var _ runtime.MemoryAllocator = (*protobufBuffer)(nil)

func (b *protobufBuffer) Allocate(n uint64) []byte {
	b.alloc = make([]byte, n)
	return b.alloc
}

func (b *protobufBuffer) Write(p []byte) (int, error) {
	if b.out == nil && len(p) > 0 && len(b.alloc) > 0 && &p[0] == &b.alloc[0] {
		b.out = p
		return len(p), nil
	}
	b.out = append(b.out, p...)
	return len(p), nil
}

// unchanged reports whether data (a fresh encodeStorage of an update's result) stores
// the same object as stored, the value it would replace. A value older kjet versions
// stored as JSON is compared by re-encoding current (its decoded form), so a no-op
// update of it stays a no-op instead of rewriting it as protobuf with a new
// resourceVersion.
func (c *codecs) unchanged(data, stored []byte, current runtime.Object, gvk schema.GroupVersionKind) bool {
	if bytes.Equal(data, stored) {
		return true
	}
	if bytes.HasPrefix(stored, storageProtobufPrefix) {
		return false
	}
	again, err := c.encodeStorage(current, gvk)
	return err == nil && bytes.Equal(data, again)
}

// decodeStorage decodes a stored value into into (an empty object of the resource's
// type). Protobuf values are recognised by their prefix; anything else is JSON.
func (c *codecs) decodeStorage(data []byte, into runtime.Object) error {
	decoder := runtime.Decoder(c.json)
	if bytes.HasPrefix(data, storageProtobufPrefix) {
		decoder = c.protobuf
	}
	obj, _, err := decoder.Decode(data, nil, into)
	if err != nil {
		return fmt.Errorf("decoding stored object: %w", err)
	}
	if obj != into {
		return fmt.Errorf("decoding stored object: got %T, want %T", obj, into)
	}
	return nil
}

// fieldValidation is the request's fieldValidation directive.
type fieldValidation string

const (
	validationStrict fieldValidation = "Strict"
	validationWarn   fieldValidation = "Warn"
	validationIgnore fieldValidation = "Ignore"
)

func parseFieldValidation(r *http.Request) (fieldValidation, error) {
	switch v := r.URL.Query().Get("fieldValidation"); v {
	case "", string(validationWarn):
		return validationWarn, nil
	case string(validationStrict):
		return validationStrict, nil
	case string(validationIgnore):
		return validationIgnore, nil
	default:
		return "", apierrors.NewBadRequest(fmt.Sprintf("fieldValidation must be one of \"Ignore\", \"Warn\" or \"Strict\", got %q", v))
	}
}

// requestMediaType returns the media type of the request body (default JSON).
func requestMediaType(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return mediaJSON
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ct
	}
	return mt
}

// decodeBody decodes a create/update body into into, honouring fieldValidation. It
// returns the warnings to send (Warn mode) and a Status error for bad input.
func (c *codecs) decodeBody(body []byte, mediaType string, validation fieldValidation, res *resource, into runtime.Object) ([]string, error) {
	decoders, ok := c.decoders[mediaType]
	if !ok {
		return nil, unsupportedMediaType(mediaType)
	}
	decoder := decoders.lenient
	if validation != validationIgnore {
		decoder = decoders.strict
	}
	gvk := res.gvk
	obj, got, err := decoder.Decode(body, &gvk, into)
	var warnings []string
	if err != nil {
		if strictErr, isStrict := runtime.AsStrictDecodingError(err); isStrict && obj != nil {
			if validation == validationStrict {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %v", gvkKind(got, res), gvkVersion(got, res), res.Kind, err))
			}
			for _, e := range strictErr.Errors() {
				warnings = append(warnings, e.Error())
			}
		} else {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %v", gvkKind(got, res), gvkVersion(got, res), res.Kind, err))
		}
	}
	if got != nil && (got.Kind != res.Kind || got.GroupVersion() != res.gvk.GroupVersion()) {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", got.GroupVersion(), res.gvk.GroupVersion()))
	}
	if obj != into {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("decoded %T, want %T", obj, into))
	}
	return warnings, nil
}

// decodeAny decodes a body of a type other than the resource's (Binding, Eviction,
// DeleteOptions); gvk is the default when the body names none.
func (c *codecs) decodeAny(body []byte, mediaType string, gvk schema.GroupVersionKind) (runtime.Object, error) {
	decoders, ok := c.decoders[mediaType]
	if !ok {
		return nil, unsupportedMediaType(mediaType)
	}
	obj, _, err := decoders.lenient.Decode(body, &gvk, nil)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("decoding %s: %v", gvk.Kind, err))
	}
	return obj, nil
}

func unsupportedMediaType(mediaType string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusUnsupportedMediaType,
		Reason:  metav1.StatusReasonUnsupportedMediaType,
		Message: fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: %s", strings.Join(acceptedMediaTypes, ", ")),
	}}
}

var acceptedMediaTypes = []string{mediaJSON, mediaYAML, mediaProtobuf}

func gvkKind(got *schema.GroupVersionKind, res *resource) string {
	if got != nil && got.Kind != "" {
		return got.Kind
	}
	return res.Kind
}

func gvkVersion(got *schema.GroupVersionKind, res *resource) string {
	if got != nil && got.Version != "" {
		return got.Version
	}
	return res.gvk.Version
}

// acceptKind is what the client asked to receive.
type acceptKind int

const (
	acceptObject acceptKind = iota
	acceptTable
	acceptPartialMetadata
	acceptDiscoveryAggregated
)

// negotiated is the outcome of Accept negotiation.
type negotiated struct {
	kind      acceptKind
	mediaType string // mediaJSON, mediaYAML or mediaProtobuf
}

// negotiate parses the Accept header and picks the first entry the server can serve.
func negotiate(r *http.Request) negotiated {
	accept := r.Header.Get("Accept")
	if accept == "" {
		return negotiated{mediaType: mediaJSON}
	}
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		as := params["as"]
		switch mt {
		case mediaJSON, mediaYAML, mediaProtobuf, "*/*", "application/*":
		default:
			continue
		}
		if mt == "*/*" || mt == "application/*" {
			mt = mediaJSON
		}
		switch {
		case as == "":
			return negotiated{kind: acceptObject, mediaType: mt}
		case as == "Table" && params["g"] == "meta.k8s.io" && (params["v"] == "v1" || params["v"] == "v1beta1") && mt == mediaJSON:
			return negotiated{kind: acceptTable, mediaType: mediaJSON}
		case (as == "PartialObjectMetadata" || as == "PartialObjectMetadataList") && params["g"] == "meta.k8s.io" && params["v"] == "v1":
			return negotiated{kind: acceptPartialMetadata, mediaType: mt}
		case as == "APIGroupDiscoveryList" && params["g"] == "apidiscovery.k8s.io" && params["v"] == "v2" && mt == mediaJSON:
			return negotiated{kind: acceptDiscoveryAggregated, mediaType: mediaJSON}
		}
	}
	return negotiated{mediaType: mediaJSON}
}

// writeObject encodes obj (whose apiVersion/kind must be set) with status code.
func (s *Server) writeObject(w http.ResponseWriter, r *http.Request, code int, obj runtime.Object, mediaType string) {
	contentType := mediaType
	var body []byte
	var err error
	switch mediaType {
	case mediaProtobuf:
		if _, isProto := obj.(interface{ Marshal() ([]byte, error) }); isProto {
			body, err = s.codecs.encodeProtobuf(obj)
		} else {
			contentType = mediaJSON
			body, err = encodeWith(s.codecs.json, obj)
		}
	case mediaYAML:
		body, err = encodeWith(s.codecs.yaml, obj)
	default:
		contentType = mediaJSON
		if isPretty(r) {
			body, err = encodeWith(s.codecs.prettyJSON, obj)
		} else {
			body, err = encodeWith(s.codecs.json, obj)
		}
	}
	if err != nil {
		s.writeError(w, r, apierrors.NewInternalError(fmt.Errorf("encoding response: %w", err)))
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// encodeWith is obj encoded by enc.
func encodeWith(enc runtime.Encoder, obj runtime.Object) ([]byte, error) {
	var buf bytes.Buffer
	if err := enc.Encode(obj, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func isPretty(r *http.Request) bool {
	v := r.URL.Query().Get("pretty")
	return v == "true" || v == "1"
}

// writeError writes err as a metav1.Status. Errors that are not API status errors
// become 500 InternalError.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := apierrors.APIStatus(nil)
	if st, ok := err.(apierrors.APIStatus); ok {
		status = st
	} else {
		status = apierrors.NewInternalError(err)
	}
	st := status.Status()
	st.Kind = "Status"
	st.APIVersion = "v1"
	code := int(st.Code)
	if code == 0 {
		code = http.StatusInternalServerError
	}
	if code == http.StatusTooManyRequests && st.Details != nil && st.Details.RetryAfterSeconds > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(st.Details.RetryAfterSeconds))
	}
	s.writeObject(w, r, code, &st, mediaJSON)
}

// addWarnings sends Warning headers the way the apiserver does.
func addWarnings(w http.ResponseWriter, warnings []string) {
	for _, text := range warnings {
		escaped := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(text)
		w.Header().Add("Warning", `299 - "`+escaped+`"`)
	}
}
