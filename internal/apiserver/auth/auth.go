// Package auth authenticates requests to kjet's API server: every request must carry the
// admin bearer token (Authorization: Bearer <token>); anything else is answered with a
// 401 Unauthorized metav1.Status, as the Kubernetes API server does.
package auth

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// RequireToken wraps next so that it only sees requests that carry token as a bearer
// token. The comparison takes constant time. token must not be empty.
func RequireToken(token string, next http.Handler) http.Handler {
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := bearerToken(r)
		if !ok || len(want) == 0 || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			writeUnauthorized(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearerToken extracts the token of an "Authorization: Bearer <token>" header. The
// scheme is case-insensitive, as in RFC 6750.
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, found := strings.Cut(strings.TrimSpace(h), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

func writeUnauthorized(w http.ResponseWriter) {
	status := apierrors.NewUnauthorized("Unauthorized").ErrStatus
	status.Kind = "Status"
	status.APIVersion = "v1"
	body, err := json.Marshal(&status)
	if err != nil {
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache, private")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write(append(body, '\n'))
}
