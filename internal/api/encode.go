package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"tasks/internal/store"
)

// maxBody bounds request bodies; a task is a title of at most 200
// characters and a boolean.
const maxBody = 64 << 10

// maxTitle is the longest title, in characters, after trimming.
const maxTitle = 200

// taskJSON is the API's representation of a task. The API owns it: an Ent
// entity would drop "done": false through its omitempty tags.
type taskJSON struct {
	ID        int64  `json:"id"`
	Title     string `json:"title"`
	Done      bool   `json:"done"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

// timeLayout is RFC 3339 with the database's microsecond precision.
const timeLayout = "2006-01-02T15:04:05.000000Z07:00"

func toJSON(t store.Task) taskJSON {
	return taskJSON{
		ID: t.ID, Title: t.Title, Done: t.Done,
		CreatedAt: t.CreatedAt.UTC().Format(timeLayout),
		UpdatedAt: t.UpdatedAt.UTC().Format(timeLayout),
	}
}

// etag is a task version's entity tag: its updated_at in microseconds,
// which the trigger keeps strictly increasing per task.
func etag(updated time.Time) string {
	return `"` + strconv.FormatInt(updated.UnixMicro(), 10) + `"`
}

// encode writes v as JSON with the given status. The body is rendered to
// a buffer first, so an encoding error never leaves half a response.
func encode(w http.ResponseWriter, status int, contentType string, v any) error {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

func writeProblem(log *slog.Logger, w http.ResponseWriter, p *problem) {
	for k, vs := range p.header {
		w.Header()[k] = vs
	}
	if err := encode(w, p.Status, "application/problem+json", p); err != nil {
		log.Error("write problem", "err", err)
	}
}

// field is one member of a request object, kept raw until validated.
type field struct {
	set bool
	raw json.RawMessage
}

// decodeObject reads a JSON object body whose members must be among
// allowed, each at most once, with nothing after it. It tells apart what
// clients need: 415 wrong media type, 413 too large, 400 not JSON at all;
// unknown and duplicate members come back as field errors, so that the
// caller reports them in one 422 with its own validation.
//
// It also returns the body, for an Idempotency-Key's fingerprint.
func decodeObject(w http.ResponseWriter, r *http.Request, allowed ...string) (map[string]field, []byte, []fieldError, error) {
	if err := checkContentType(r); err != nil {
		return nil, nil, nil, err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, nil, nil, newProblem(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body exceeds %d bytes", maxBody))
	case err != nil:
		return nil, nil, nil, newProblem(http.StatusBadRequest, "could not read the body")
	case !utf8.Valid(body):
		return nil, nil, nil, newProblem(http.StatusBadRequest, "the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, nil, malformed(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		// Valid JSON, but not an object: check the rest is well-formed
		// first, so malformed input is always 400.
		if !json.Valid(body) {
			return nil, nil, nil, malformed(errors.New("invalid JSON"))
		}
		return nil, nil, nil, invalid(fieldError{Name: "(body)", In: "body", Reason: "must be a JSON object"})
	}
	fields := make(map[string]field, len(allowed))
	var errs []fieldError
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, nil, malformed(err)
		}
		name := tok.(string) // inside an object every key is a string
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, nil, malformed(err)
		}
		switch {
		case !slices.Contains(allowed, name):
			errs = appendError(errs, fieldError{Name: name, In: "body", Reason: "unknown field"})
		case fields[name].set:
			errs = appendError(errs, fieldError{Name: name, In: "body", Reason: "duplicate field"})
		default:
			fields[name] = field{set: true, raw: raw}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, nil, nil, malformed(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, nil, newProblem(http.StatusBadRequest, "malformed JSON: data after the object")
	}
	return fields, body, errs, nil
}

func malformed(err error) *problem {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return newProblem(http.StatusBadRequest, "malformed JSON: unexpected end of the body")
	}
	return newProblem(http.StatusBadRequest, "malformed JSON: "+err.Error())
}

func checkContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	ok := err == nil && (mt == "application/json" || (r.Method == http.MethodPatch && mt == "application/merge-patch+json"))
	if cs, has := params["charset"]; ok && has && !strings.EqualFold(cs, "utf-8") {
		ok = false
	}
	if !ok {
		p := newProblem(http.StatusUnsupportedMediaType, fmt.Sprintf("the body must be application/json (UTF-8), not %q", ct))
		if r.Method == http.MethodPatch {
			return p.with("Accept-Patch", "application/json, application/merge-patch+json")
		}
		return p
	}
	return nil
}

// title validates a title field: a string, trimmed, 1 to 200 characters,
// no control characters, at least one visible one, and no unpaired
// surrogate escapes.
func (f field) title() (string, *fieldError) {
	bad := func(reason string) (string, *fieldError) {
		return "", &fieldError{Name: "title", In: "body", Reason: reason}
	}
	if !f.set {
		return bad("required")
	}
	var s string
	if string(f.raw) == "null" || json.Unmarshal(f.raw, &s) != nil {
		return bad("must be a string")
	}
	if loneSurrogate(f.raw) {
		// encoding/json would store U+FFFD in its place: a title the
		// client never sent.
		return bad(`must not contain an unpaired surrogate escape such as \ud800`)
	}
	s = strings.TrimSpace(s)
	switch n := utf8.RuneCountInString(s); {
	case n == 0:
		return bad("must not be empty")
	case n > maxTitle:
		return bad(fmt.Sprintf("must be at most %d characters, got %d", maxTitle, n))
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return bad("must not contain control characters")
	}
	if strings.IndexFunc(s, visible) < 0 {
		return bad("must contain a visible character")
	}
	return s, nil
}

// visible reports whether r shows as a mark on its own: a letter, number,
// punctuation or symbol, except the few of those that render blank
// (Hangul fillers, the blank Braille pattern). Spaces, format characters
// such as U+200B ZERO WIDTH SPACE, and combining marks without a base do
// not count.
func visible(r rune) bool {
	switch r {
	case '\u115F', '\u1160', '\u3164', '\uFFA0', '\u2800':
		return false
	}
	return unicode.In(r, unicode.L, unicode.N, unicode.P, unicode.S)
}

// loneSurrogate reports whether a raw JSON string holds a \u escape of a
// UTF-16 surrogate that is not part of a high-low pair.
func loneSurrogate(raw []byte) bool {
	hex := func(i int) (rune, bool) {
		if i+6 > len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
			return 0, false
		}
		n, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 16)
		return rune(n), err == nil
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		r, ok := hex(i)
		if !ok {
			i++ // an escape of one character, such as \\ or \"
			continue
		}
		switch {
		case utf16.IsSurrogate(r) && r < 0xDC00: // high: a low must follow
			lo, ok := hex(i + 6)
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i += 11
		case utf16.IsSurrogate(r): // low without a high
			return true
		default:
			i += 5
		}
	}
	return false
}

// boolean validates a boolean field.
func (f field) boolean(name string) (bool, *fieldError) {
	switch string(f.raw) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	reason := "must be true or false"
	if !f.set {
		reason = "required"
	}
	return false, &fieldError{Name: name, In: "body", Reason: reason}
}
