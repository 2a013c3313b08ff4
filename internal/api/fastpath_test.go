package api

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"tasks/internal/store"
)

// The hand-written encoder and the decoder's fast path must give exactly
// what encoding/json gives; these hold them to it.

// listJSON is a page as encoding/json would write it.
type listJSON struct {
	Items      []taskJSON `json:"items"`
	NextCursor *string    `json:"next_cursor"`
}

func toJSON(t store.Task) taskJSON {
	return taskJSON{
		ID: t.ID, Title: t.Title, Done: t.Done,
		CreatedAt: t.CreatedAt.UTC().Format(timeLayout),
		UpdatedAt: t.UpdatedAt.UTC().Format(timeLayout),
	}
}

var encodeTitles = []string{
	"sugoi_task", `quote " backslash \ slash /`, "<b>&amp;</b>", "tab\there", "new\nline", "\x00\x1f\x7f",
	"naïve 日本語 🎉", "line\u2028separator\u2029", "bad \xff utf-8", "",
}

func TestWriteTasksMatchesEncodingJSON(t *testing.T) {
	created := time.Date(2026, 11, 25, 2, 58, 30, 30035000, time.UTC)
	var ts []store.Task
	for i, title := range encodeTitles {
		ts = append(ts, store.Task{
			ID: int64(i + 1), Title: title, Done: i%2 == 0,
			CreatedAt: created.In(time.FixedZone("X", 3600)), UpdatedAt: created.Add(time.Duration(i) * time.Second),
		})
	}
	encoded := func(v any) string {
		var b bytes.Buffer
		if err := json.NewEncoder(&b).Encode(v); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	for _, task := range ts {
		w := httptest.NewRecorder()
		if err := writeTask(w, 200, task); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(encoded(toJSON(task)), w.Body.String()); diff != "" {
			t.Errorf("task %q (-encoding/json +written):\n%s", task.Title, diff)
		}
		if got, want := w.Header().Get("ETag"), `"`+strconv.FormatInt(task.UpdatedAt.UnixMicro(), 10)+`"`; got != want {
			t.Errorf("task %q: ETag %s, want %s", task.Title, got, want)
		}
	}
	cursor := encodeCursor(42)
	for _, tc := range []struct {
		ts   []store.Task
		next *string
	}{{nil, nil}, {ts[:1], nil}, {ts, &cursor}} {
		page := listJSON{Items: []taskJSON{}, NextCursor: tc.next}
		for _, task := range tc.ts {
			page.Items = append(page.Items, toJSON(task))
		}
		next := ""
		if tc.next != nil {
			next = *tc.next
		}
		w := httptest.NewRecorder()
		if err := writePage(w, tc.ts, next); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(encoded(page), w.Body.String()); diff != "" {
			t.Errorf("page of %d (-encoding/json +written):\n%s", len(tc.ts), diff)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range encodeTitles {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s; encoding/json gives %s", s, got, want)
		}
	})
}

func FuzzAppendTime(f *testing.F) {
	for _, t := range []time.Time{
		time.Date(2026, 11, 25, 2, 58, 30, 30035000, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(294276, 12, 31, 23, 59, 59, 999999000, time.UTC), // timestamptz's last day
	} {
		f.Add(t.Unix(), int64(t.Nanosecond()), 0)
	}
	f.Fuzz(func(t *testing.T, sec, nsec int64, offset int) {
		tm := time.Unix(sec, nsec).In(time.FixedZone("X", offset%(24*3600)))
		want := tm.UTC().AppendFormat(nil, timeLayout)
		if got := appendTime(nil, tm); !bytes.Equal(got, want) {
			t.Fatalf("appendTime(%v) = %s; AppendFormat gives %s", tm, got, want)
		}
	})
}

// FuzzSplitObject checks the decoder's fast path against its general
// path: whenever the fast path takes a body, it finds the same members,
// raw values and errors.
func FuzzSplitObject(f *testing.F) {
	for _, s := range []string{
		`{"title":"sugoi_task","done":false}`, ` { "title" : "a" , "done" : true } `, `{}`, `{"title":"a","title":"b"}`,
		`{"x":{"y":[1,"]}",{"z":"\""}]},"done":null}`, `{"title":"\u00e9\"","n":-1.5e+3}`, `{"t\"":1}`, `[1]`, `{"a":1`, `"s"`,
	} {
		f.Add(s)
	}
	allowed := []string{"title", "done"}
	f.Fuzz(func(t *testing.T, body string) {
		fields, errs, ok := splitObject([]byte(body), allowed)
		if !ok {
			return
		}
		wantFields, wantErrs, err := decodeTokens([]byte(body), allowed)
		if err != nil {
			t.Fatalf("fast path took %q, which the decoder refuses: %v", body, err)
		}
		if diff := cmp.Diff(wantFields, fields, cmp.AllowUnexported(field{})); diff != "" {
			t.Errorf("fields of %q (-decoder +fast path):\n%s", body, diff)
		}
		if diff := cmp.Diff(wantErrs, errs, cmp.AllowUnexported(fieldError{})); diff != "" {
			t.Errorf("errors of %q (-decoder +fast path):\n%s", body, diff)
		}
	})
}
