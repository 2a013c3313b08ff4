package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
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
// entity would drop "done": false through its omitempty tags. writeTasks
// renders it by hand; a test holds the two to the same bytes.
type taskJSON struct {
	ID        int64  `json:"id"`
	Title     string `json:"title"`
	Done      bool   `json:"done"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

// timeLayout is RFC 3339 with the database's microsecond precision.
const timeLayout = "2006-01-02T15:04:05.000000Z07:00"

// etag is a task version's entity tag: its updated_at in microseconds
// since 1970, which the trigger keeps strictly increasing per task.
// Whatever a row holds has one: an updated_at before 1970 (a row written
// by another tool) gives a negative count, PostgreSQL's infinities are
// "infinity" and "-infinity", and the years past 294247, where the count
// outgrows 64 bits, are written digit by digit all the same.
func etag(updated time.Time) string {
	var b [32]byte
	return string(appendETag(b[:0], updated))
}

func appendETag(b []byte, updated time.Time) []byte {
	b = append(b, '"')
	switch sec := updated.Unix(); {
	case updated.Equal(store.Infinity()):
		b = append(b, "infinity"...)
	case updated.Equal(store.NegativeInfinity()):
		b = append(b, "-infinity"...)
	case sec >= math.MaxInt64/1_000_000:
		b = strconv.AppendInt(b, sec, 10)
		b = appendDigits(b, updated.Nanosecond()/1000, 6)
	default:
		b = strconv.AppendInt(b, updated.UnixMicro(), 10)
	}
	return append(b, '"')
}

// parseETag returns the updated_at of an entity tag's opaque part (without
// quotes) if appendETag writes it so, byte for byte.
func parseETag(tag string) (time.Time, bool) {
	var t time.Time
	switch tag {
	case "infinity":
		return store.Infinity(), true
	case "-infinity":
		return store.NegativeInfinity(), true
	case "", "-":
		return t, false
	}
	n, err := strconv.ParseInt(tag, 10, 64)
	switch {
	case err == nil:
		t = time.UnixMicro(n)
	case errors.Is(err, strconv.ErrRange) && tag[0] != '-' && len(tag) > 6:
		sec, err1 := strconv.ParseInt(tag[:len(tag)-6], 10, 64)
		us, err2 := strconv.ParseInt(tag[len(tag)-6:], 10, 64)
		if err1 != nil || err2 != nil || us < 0 {
			return t, false
		}
		t = time.Unix(sec, us*1000)
	default:
		return t, false
	}
	var b [32]byte
	return t, string(appendETag(b[:0], t)) == `"`+tag+`"`
}

// encode writes v as JSON with the given status. The body is rendered to
// a buffer first, so an encoding error never leaves half a response.
func encode(w http.ResponseWriter, status int, contentType string, v any) error {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	return writeBody(w, status, []string{contentType}, buf.Bytes())
}

// jsonType is the Content-Type of task responses, one slice shared by all
// of them: http.Header.Set would allocate it anew for every response.
var jsonType = []string{"application/json"}

// writeBody writes a rendered body with its type and length.
func writeBody(w http.ResponseWriter, status int, contentType []string, body []byte) error {
	h := w.Header()
	h["Content-Type"] = contentType
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, err := w.Write(body)
	return err
}

// bufs recycles response buffers; writeBody's Write has copied a body
// before its buffer goes back.
var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// The hot responses are rendered by hand the way encoding/json would
// write taskJSON values (same members, order and escaping), without
// reflection or intermediate strings: encoding them was the handlers'
// largest CPU cost.

// writeTask writes one task with its ETag.
func writeTask(w http.ResponseWriter, status int, t store.Task) error {
	bp := bufs.Get().(*[]byte)
	b := appendETag((*bp)[:0], t.UpdatedAt)
	w.Header()["Etag"] = []string{string(b)}
	b = appendTask(b[:0], t)
	b = append(b, '\n') // as json.Encoder ends a value
	return writePooled(w, status, bp, b)
}

// writePage writes a page of tasks, {"items":[…],"next_cursor":…}; next
// "" is a null cursor.
func writePage(w http.ResponseWriter, ts []store.Task, next string) error {
	bp := bufs.Get().(*[]byte)
	b := append((*bp)[:0], `{"items":[`...)
	for i, t := range ts {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTask(b, t)
	}
	b = append(b, `],"next_cursor":`...)
	if next == "" {
		b = append(b, "null"...)
	} else {
		b = appendString(b, next)
	}
	b = append(b, "}\n"...)
	return writePooled(w, http.StatusOK, bp, b)
}

// writePooled writes b, rendered in the pooled buffer *bp, and returns
// the buffer to the pool.
func writePooled(w http.ResponseWriter, status int, bp *[]byte, b []byte) error {
	err := writeBody(w, status, jsonType, b)
	if cap(b) <= 64<<10 {
		*bp = b
		bufs.Put(bp)
	}
	return err
}

func appendTask(b []byte, t store.Task) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, t.ID, 10)
	b = append(b, `,"title":`...)
	b = appendString(b, t.Title)
	b = append(b, `,"done":`...)
	b = strconv.AppendBool(b, t.Done)
	b = append(b, `,"created_at":"`...)
	b = appendTime(b, t.CreatedAt)
	b = append(b, `","updated_at":"`...)
	b = appendTime(b, t.UpdatedAt)
	return append(b, `"}`...)
}

// appendTime appends t in UTC as timeLayout would, without interpreting
// the layout: every task carries two timestamps, and AppendFormat was the
// largest cost of encoding one. Years AppendFormat writes differently
// (outside 0–9999) go through it.
//
// A row written by another tool before tasks_timestamps_check may hold
// what RFC 3339 cannot write: PostgreSQL's infinities are "infinity" and
// "-infinity", and a year outside 0–9999 is written as AppendFormat
// writes it, with its sign and every digit (ISO 8601's expanded years).
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		switch {
		case t.Equal(store.Infinity()):
			return append(b, "infinity"...)
		case t.Equal(store.NegativeInfinity()):
			return append(b, "-infinity"...)
		}
		return t.AppendFormat(b, timeLayout)
	}
	hour, minute, second := t.Clock()
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, minute, 2)
	b = append(b, ':')
	b = appendDigits(b, second, 2)
	b = append(b, '.')
	b = appendDigits(b, t.Nanosecond()/1000, 6)
	return append(b, 'Z')
}

// appendDigits appends v, which is not negative, as n decimal digits with
// leading zeros.
func appendDigits(b []byte, v, n int) []byte {
	for range n {
		b = append(b, 0)
	}
	for i := len(b) - 1; n > 0; i, n = i-1, n-1 {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return b
}

// appendString appends s as a JSON string. Printable ASCII other than
// what encoding/json escapes goes as it is; anything else goes through
// encoding/json, so the output is always exactly its.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// writeProblem answers r with p, which names r's request id.
func writeProblem(log *slog.Logger, w http.ResponseWriter, r *http.Request, p *problem) {
	p.RequestID = requestID(r.Context())
	for k, vs := range p.header {
		w.Header()[k] = vs
	}
	if err := encode(w, p.Status, "application/problem+json", p); err != nil {
		log.ErrorContext(r.Context(), "write problem", "err", err)
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
	body, err := readBody(w, r, maxBody)
	var (
		tooBig  *http.MaxBytesError
		timeout net.Error
	)
	switch {
	case errors.As(err, &tooBig):
		return nil, nil, nil, newProblem(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body exceeds %d bytes", maxBody))
	case errors.As(err, &timeout) && timeout.Timeout():
		// net/http closes the connection after this answer: the rest of
		// the body may still be on its way.
		return nil, nil, nil, newProblem(http.StatusRequestTimeout, "the body did not arrive in time").with("Connection", "close")
	case err != nil:
		return nil, nil, nil, newProblem(http.StatusBadRequest, "could not read the body")
	case !utf8.Valid(body):
		return nil, nil, nil, newProblem(http.StatusBadRequest, "the body is not valid UTF-8")
	}
	fields, errs, ok := splitObject(body, allowed)
	if !ok {
		fields, errs, err = decodeTokens(body, allowed)
	}
	return fields, body, errs, err
}

// decodeTokens is decodeObject's general path, through json.Decoder's
// tokens: it handles every body, and says what is wrong with a bad one.
func decodeTokens(body []byte, allowed []string) (map[string]field, []fieldError, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, malformed(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		// Valid JSON, but not an object: check the rest is well-formed
		// first, so malformed input is always 400.
		if !json.Valid(body) {
			return nil, nil, malformed(errors.New("invalid JSON"))
		}
		return nil, nil, invalid(fieldError{Name: "(body)", In: "body", Reason: "must be a JSON object"})
	}
	fields := make(map[string]field, len(allowed))
	var errs []fieldError
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, malformed(err)
		}
		name := tok.(string) // inside an object every key is a string
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, malformed(err)
		}
		errs = addField(fields, allowed, name, raw, errs)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, nil, malformed(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, newProblem(http.StatusBadRequest, "malformed JSON: data after the object")
	}
	return fields, errs, nil
}

// splitObject is decodeObject's fast path for the common body, a valid
// JSON object whose member names have no escapes: it finds each member's
// raw value by scanning, without json.Decoder's tokens, which cost more
// than the rest of a request's decoding. It reports ok false for anything
// else, which the decoder then handles (and explains).
func splitObject(body []byte, allowed []string) (map[string]field, []fieldError, bool) {
	if !json.Valid(body) {
		return nil, nil, false
	}
	i := skipSpace(body, 0)
	if i == len(body) || body[i] != '{' {
		return nil, nil, false
	}
	fields := make(map[string]field, len(allowed))
	var errs []fieldError
	i = skipSpace(body, i+1)
	for body[i] != '}' {
		// body[i] is the '"' opening a name; valid JSON guarantees the
		// structure from here on.
		end := bytes.IndexByte(body[i+1:], '"') + i + 1
		name := body[i+1 : end]
		if bytes.IndexByte(name, '\\') >= 0 {
			return nil, nil, false
		}
		i = skipSpace(body, end+1) + 1 // past ':'
		i = skipSpace(body, i)
		vEnd := valueEnd(body, i)
		raw := json.RawMessage(body[i:vEnd])
		errs = addField(fields, allowed, string(name), raw, errs)
		i = skipSpace(body, vEnd)
		if body[i] == ',' {
			i = skipSpace(body, i+1)
		}
	}
	return fields, errs, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// valueEnd returns the index just past the valid JSON value at b[i].
func valueEnd(b []byte, i int) int {
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			if depth == 0 {
				return i + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i // the end of a number or literal before it
			}
			depth--
			if depth == 0 {
				return i + 1
			}
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return i
			}
		}
	}
	return i
}

func malformed(err error) *problem {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return newProblem(http.StatusBadRequest, "malformed JSON: unexpected end of the body")
	}
	return newProblem(http.StatusBadRequest, "malformed JSON: "+err.Error())
}

func checkContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "application/json" {
		return nil // the usual case, without parsing
	}
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
	if n := len(f.raw); n >= 2 && f.raw[0] == '"' && bytes.IndexByte(f.raw, '\\') < 0 {
		// A string without escapes in a body already checked to be
		// valid UTF-8 and valid JSON is its own bytes.
		s = string(f.raw[1 : n-1])
	} else if string(f.raw) == "null" || json.Unmarshal(f.raw, &s) != nil {
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

// addField records a body member in fields, or the error it is: a name
// not allowed, or one already given.
func addField(fields map[string]field, allowed []string, name string, raw json.RawMessage, errs []fieldError) []fieldError {
	switch {
	case !slices.Contains(allowed, name):
		return appendError(errs, fieldError{Name: name, In: "body", Reason: "unknown field"})
	case fields[name].set:
		return appendError(errs, fieldError{Name: name, In: "body", Reason: "duplicate field"})
	}
	fields[name] = field{set: true, raw: raw}
	return errs
}
