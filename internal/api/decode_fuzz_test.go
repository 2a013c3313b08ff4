package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"tasks/internal/store"
)

// FuzzDecode feeds arbitrary bodies, content types and Idempotency-Keys
// to the request decoders. Whatever comes in, a decoder either returns a
// client error (400, 413, 415 or 422) or values that satisfy every rule:
// a trimmed title of 1 to 200 characters of valid UTF-8 without control
// characters, and a key of visible ASCII. It never panics.
//
// The committed corpus is in testdata/fuzz/FuzzDecode; CI runs the fuzzer
// briefly on top of it.
func FuzzDecode(f *testing.F) {
	f.Add(`{"title":"sugoi_task","done":false}`, "application/json", "k-1")
	f.Add(`{"title":"  a  "}`, "application/json; charset=utf-8", "")
	f.Add(`{"done":true}`, "application/merge-patch+json", "")
	f.Add(`{"title":"a","title":"b"}`, "application/json", "")
	f.Add("{\"title\":\"\xff\"}", "application/json", "")
	f.Add(`[1,2]`, "text/plain", "bad key")
	f.Fuzz(func(t *testing.T, body, contentType, key string) {
		for _, method := range []string{"POST", "PUT", "PATCH"} {
			r := httptest.NewRequest(method, "/tasks/1", strings.NewReader(body))
			r.Header.Set("Content-Type", contentType)
			if key != "" {
				r.Header.Set("Idempotency-Key", key)
			}
			w := httptest.NewRecorder()
			var (
				err error
				c   store.Changes
			)
			switch method {
			case "POST":
				var in createInput
				in, err = decodeCreate(w, r)
				if err == nil {
					c.Title = &in.title
					checkKey(t, in.key)
				}
			case "PUT":
				c, err = decodeReplace(w, r)
			case "PATCH":
				c, err = decodePatch(w, r)
			}
			if err != nil {
				var p *problem
				if !errors.As(err, &p) {
					t.Fatalf("%s: error %v is not a problem", method, err)
				}
				switch p.Status {
				case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
				default:
					t.Fatalf("%s: status %d for bad input", method, p.Status)
				}
				continue
			}
			if c.Title != nil {
				checkTitle(t, *c.Title)
			}
		}
	})
}

func checkTitle(t *testing.T, s string) {
	t.Helper()
	n := utf8.RuneCountInString(s)
	if !utf8.ValidString(s) || n < 1 || n > maxTitle || strings.TrimSpace(s) != s || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		t.Fatalf("accepted an invalid title %q", s)
	}
}

func checkKey(t *testing.T, k string) {
	t.Helper()
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e || len(k) > 200 {
			t.Fatalf("accepted an invalid Idempotency-Key %q", k)
		}
	}
}
