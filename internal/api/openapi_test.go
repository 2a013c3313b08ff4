package api_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"tasks/internal/api"
)

// TestResponsesMatchOpenAPI sends a request for every documented response
// and validates what the server answers (status, headers, media type and
// body schema) against openapi.yaml.
func TestResponsesMatchOpenAPI(t *testing.T) {
	doc, err := libopenapi.NewDocument(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("openapi.yaml: %s: %s", e.Message, e.Reason)
		}
		t.FailNow()
	}

	e := newEnv(t)
	task := e.create("documented")
	path := fmt.Sprintf("/tasks/%d", task.ID)
	etag := e.do("GET", path, "").header.Get("ETag")
	gone := e.create("to delete")
	for i := range 3 {
		e.create(fmt.Sprintf("filler %d", i))
	}

	seen := map[string]bool{}
	for _, tc := range []struct {
		method, path, body string
		header             []string
		status             int
	}{
		{"POST", "/tasks", `{"title":"a","done":true}`, nil, 201},
		{"POST", "/tasks", `{"title":`, nil, 400},
		{"POST", "/tasks", `{"title":"` + strings.Repeat("a", 70<<10) + `"}`, nil, 413},
		{"POST", "/tasks", `{"title":"a"}`, []string{"Content-Type", "text/plain"}, 415},
		{"POST", "/tasks", `{"title":""}`, nil, 422},
		{"GET", "/tasks?limit=2", "", nil, 200},
		{"GET", "/tasks?limit=0", "", nil, 422},
		{"GET", "/tasks?limit=%zz", "", nil, 400},
		{"POST", "/tasks", "{" + strings.Repeat(`"x":1,`, 100) + `"title":"a"}`, nil, 422},
		{"POST", "/tasks", `{"title":"once"}`, []string{"Idempotency-Key", "documented"}, 201},
		{"POST", "/tasks", `{"title":"once"}`, []string{"Idempotency-Key", "documented"}, 201},
		{"POST", "/tasks", `{"title":"twice"}`, []string{"Idempotency-Key", "documented"}, 422},
		{"DELETE", path, "", []string{"If-Match", strings.Repeat(`"1",`, 16) + `"1"`}, 422},
		{"GET", path, "", nil, 200},
		{"GET", path, "", []string{"If-None-Match", etag}, 304},
		{"GET", "/tasks/424242", "", nil, 404},
		{"GET", path, "", []string{"If-Match", `"1"`}, 412},
		{"PUT", path, `{"title":"b","done":false}`, []string{"If-None-Match", "*"}, 412},
		{"GET", "/tasks?limit=01", "", nil, 422},
		{"GET", "/tasks?done=true&limit=1", "", nil, 200},
		{"PUT", path, `{"title":"b","done":false}`, nil, 200},
		{"PUT", path, `{"title":"b"}`, nil, 422},
		{"PUT", path, `{"title":"b","done":false}`, []string{"If-Match", `"1"`}, 412},
		{"POST", path, `{"title":"c","done":true}`, nil, 200},
		{"PATCH", path, `{"done":false}`, nil, 200},
		{"PATCH", path, `{}`, []string{"Content-Type", "application/merge-patch+json"}, 200},
		{"PATCH", "/tasks/424242", `{"done":false}`, nil, 404},
		{"DELETE", fmt.Sprintf("/tasks/%d", gone.ID), "", nil, 204},
		{"DELETE", path, "", []string{"If-Match", `"1"`}, 412},
		{"GET", "/healthz", "", nil, 200},
		{"GET", "/readyz", "", nil, 200},
		{"GET", "/metrics", "", nil, 200},
	} {
		req := e.request(tc.method, tc.path, tc.body, tc.header...)
		var reqBody []byte
		if req.Body != nil {
			reqBody, _ = io.ReadAll(req.Body)
			req.Body = io.NopCloser(bytes.NewReader(reqBody))
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.status {
			t.Errorf("%s %s: status %d, want %d: %s", tc.method, tc.path, res.StatusCode, tc.status, body)
			continue
		}
		seen[fmt.Sprintf("%s %d", tc.method, tc.status)] = true
		// The validator reads both bodies again.
		res.Body = io.NopCloser(bytes.NewReader(body))
		check, _ := http.NewRequest(tc.method, req.URL.String(), bytes.NewReader(reqBody))
		check.Header = req.Header.Clone()
		if ok, verrs := v.ValidateHttpResponse(check, res); !ok {
			for _, ve := range verrs {
				t.Errorf("%s %s → %d does not match openapi.yaml: %s (%s)", tc.method, tc.path, tc.status, ve.Message, ve.Reason)
			}
		}
	}
	if len(seen) < 15 {
		t.Errorf("only %d method/status pairs were checked", len(seen))
	}
}
