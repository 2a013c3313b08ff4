package api

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"tasks/internal/store"
)

// taskStore is what the handlers need of the store.
type taskStore interface {
	Create(ctx context.Context, title string, done bool) (store.Task, error)
	CreateOnce(ctx context.Context, key string, fingerprint []byte, title string, done bool) (t store.Task, replayed bool, err error)
	Get(ctx context.Context, id int64) (store.Task, error)
	List(ctx context.Context, p store.ListParams) ([]store.Task, error)
	Update(ctx context.Context, id int64, c store.Changes, v store.Version) (store.Task, error)
	Delete(ctx context.Context, id int64, v store.Version) error
}

// Page sizes of GET /tasks.
const (
	defaultLimit = 20
	maxLimit     = 100
)

func handleCreate(tasks taskStore) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		in, err := decodeCreate(w, r)
		if err != nil {
			return err
		}
		var t store.Task
		if in.key == "" {
			t, err = tasks.Create(r.Context(), in.title, in.done)
		} else {
			var replayed bool
			t, replayed, err = tasks.CreateOnce(r.Context(), in.key, in.fingerprint, in.title, in.done)
			if err == nil && replayed {
				// A retry: the first request's answer, not a second task.
				w.Header().Set("Idempotent-Replayed", "true")
			}
		}
		if err != nil {
			return err
		}
		w.Header().Set("Location", "/tasks/"+strconv.FormatInt(t.ID, 10))
		return writeTask(w, http.StatusCreated, t)
	}
}

type createInput struct {
	title       string
	done        bool
	key         string // Idempotency-Key, "" when none
	fingerprint []byte // of the request, when it has a key
}

// fingerprint identifies a request for its Idempotency-Key: a retry must
// be the same method on the same resource with the same body, byte for
// byte. /tasks/ and /tasks are one resource.
func fingerprint(r *http.Request, body []byte) []byte {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\n", r.Method, strings.TrimSuffix(r.URL.Path, "/"))
	h.Write(body)
	return h.Sum(nil)
}

// decodeCreate reads and validates a create request.
func decodeCreate(w http.ResponseWriter, r *http.Request) (createInput, error) {
	var in createInput
	fields, body, errs, err := decodeObject(w, r, "title", "done")
	if err != nil {
		return in, err
	}
	title, ferr := fields["title"].title()
	if ferr != nil {
		errs = append(errs, *ferr)
	}
	in.title = title
	if f := fields["done"]; f.set {
		if in.done, ferr = f.boolean("done"); ferr != nil {
			errs = append(errs, *ferr)
		}
	}
	key, keyErr := idempotencyKey(r.Header.Values("Idempotency-Key"))
	if keyErr != nil {
		errs = append(errs, *keyErr)
	}
	in.key = key
	if key != "" {
		in.fingerprint = fingerprint(r, body)
	}
	if len(errs) > 0 {
		return in, invalid(errs...)
	}
	return in, nil
}

func handleGet(tasks taskStore) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := taskID(r)
		if err != nil {
			return err
		}
		v, err := ifMatch(r.Header.Values("If-Match"))
		if err != nil {
			return err
		}
		t, err := tasks.Get(r.Context(), id)
		if err != nil {
			return err
		}
		// RFC 9110 §13.2.2: If-Match first, then If-None-Match.
		if v.Conditional() && !store.Matches(t, v) {
			return preconditionFailed(t, "the task is not at a version If-Match names")
		}
		if inm := r.Header.Values("If-None-Match"); len(inm) > 0 {
			if tag := etag(t.UpdatedAt); noneMatch(inm, tag) {
				w.Header().Set("ETag", tag)
				w.WriteHeader(http.StatusNotModified)
				return nil
			}
		}
		return writeTask(w, http.StatusOK, t)
	}
}

func handleList(tasks taskStore) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := listParams(r.URL.RawQuery)
		if err != nil {
			return err
		}
		// One row more than asked tells whether another page exists.
		want := p.Limit
		p.Limit++
		ts, err := tasks.List(r.Context(), p)
		if err != nil {
			return err
		}
		next := ""
		if len(ts) > want {
			ts, next = ts[:want], encodeCursor(ts[want-1].ID)
		}
		return writePage(w, ts, next)
	}
}

// handleReplace serves PUT and POST /tasks/{id}: both fields are required.
func handleReplace(tasks taskStore) handler {
	return handleUpdate(tasks, decodeReplace)
}

// handlePatch changes the fields given; absent fields stay, null is
// invalid, and an empty patch returns the task unchanged.
func handlePatch(tasks taskStore) handler {
	return handleUpdate(tasks, decodePatch)
}

func handleUpdate(tasks taskStore, decode func(http.ResponseWriter, *http.Request) (store.Changes, error)) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, v, err := target(r)
		if err != nil {
			return err
		}
		c, err := decode(w, r)
		if err != nil {
			return err
		}
		if err := ifNoneMatch(r, tasks, id, v); err != nil {
			return err
		}
		t, err := tasks.Update(r.Context(), id, c, v)
		if err != nil {
			return err
		}
		return writeTask(w, http.StatusOK, t)
	}
}

// decodeReplace reads a PUT body: title and done, both required.
func decodeReplace(w http.ResponseWriter, r *http.Request) (store.Changes, error) {
	fields, _, errs, err := decodeObject(w, r, "title", "done")
	if err != nil {
		return store.Changes{}, err
	}
	title, ferr := fields["title"].title()
	if ferr != nil {
		errs = append(errs, *ferr)
	}
	done, ferr := fields["done"].boolean("done")
	if ferr != nil {
		errs = append(errs, *ferr)
	}
	if len(errs) > 0 {
		return store.Changes{}, invalid(errs...)
	}
	return store.Changes{Title: &title, Done: &done}, nil
}

// decodePatch reads a PATCH body: any of title and done.
func decodePatch(w http.ResponseWriter, r *http.Request) (store.Changes, error) {
	fields, _, errs, err := decodeObject(w, r, "title", "done")
	if err != nil {
		return store.Changes{}, err
	}
	var c store.Changes
	if f := fields["title"]; f.set {
		title, ferr := f.title()
		if ferr != nil {
			errs = append(errs, *ferr)
		}
		c.Title = &title
	}
	if f := fields["done"]; f.set {
		done, ferr := f.boolean("done")
		if ferr != nil {
			errs = append(errs, *ferr)
		}
		c.Done = &done
	}
	if len(errs) > 0 {
		return store.Changes{}, invalid(errs...)
	}
	return c, nil
}

func handleDelete(tasks taskStore) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, v, err := target(r)
		if err != nil {
			return err
		}
		if err := ifNoneMatch(r, tasks, id, v); err != nil {
			return err
		}
		if err := tasks.Delete(r.Context(), id, v); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// idempotencyKey validates the Idempotency-Key header: at most one, 1 to
// 200 visible ASCII characters.
func idempotencyKey(values []string) (string, *fieldError) {
	bad := &fieldError{Name: "Idempotency-Key", In: "header", Reason: "must be one value of 1 to 200 visible ASCII characters"}
	switch len(values) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", bad
	}
	k := values[0]
	if len(k) == 0 || len(k) > 200 {
		return "", bad
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return "", bad
		}
	}
	return k, nil
}

// ifNoneMatch evaluates a write's If-None-Match against the task as it
// is, in RFC 9110 §13.2.2's order: If-Match first (v, which the write
// itself checks again, atomically), then If-None-Match, whose "*" or
// matching tag (weak comparison) makes the write fail with 412; PUT does
// not create tasks, so "If-None-Match: *" never lets one through. Without
// the header it costs nothing. The check and the write are two
// statements, which is safe: updated_at only moves forward, so a tag
// that did not match cannot start to.
//
// A missing task is 404 whatever the preconditions, If-Match: * included:
// RFC 9110 §13.2.1 puts a failure the request would meet without them
// before their evaluation.
func ifNoneMatch(r *http.Request, tasks taskStore, id int64, v store.Version) error {
	inm := r.Header.Values("If-None-Match")
	if len(inm) == 0 {
		return nil
	}
	t, err := tasks.Get(r.Context(), id)
	if err != nil {
		return err
	}
	if v.Conditional() && !store.Matches(t, v) {
		return preconditionFailed(t, "the task has changed since the version given in If-Match")
	}
	if noneMatch(inm, etag(t.UpdatedAt)) {
		return preconditionFailed(t, "If-None-Match: the task exists at a version it names")
	}
	return nil
}

// preconditionFailed is a 412 with the task's current ETag.
func preconditionFailed(t store.Task, detail string) *problem {
	return newProblem(http.StatusPreconditionFailed, detail).with("ETag", etag(t.UpdatedAt))
}

// taskID parses the {id} path segment; anything but a positive 64-bit
// integer names no task.
func taskID(r *http.Request) (int64, error) {
	s := r.PathValue("id")
	// Only the canonical form: no sign, no leading zero.
	canonical := s != "" && s[0] >= '1' && s[0] <= '9'
	for i := 1; canonical && i < len(s); i++ {
		canonical = s[i] >= '0' && s[i] <= '9'
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if !canonical || err != nil {
		return 0, newProblem(http.StatusNotFound, "no task with this id")
	}
	return id, nil
}

// target parses the id and If-Match of a write.
func target(r *http.Request) (int64, store.Version, error) {
	id, err := taskID(r)
	if err != nil {
		return 0, store.Version{}, err
	}
	v, err := ifMatch(r.Header.Values("If-Match"))
	return id, v, err
}

// ifMatch parses If-Match (RFC 9110 §13.1.1): "*" or a list of at most
// store.MaxVersions strong entity tags of the form this API issues. Weak
// tags never match a strong comparison, so a list of only weak tags can
// never succeed: 412.
func ifMatch(values []string) (store.Version, error) {
	var v store.Version
	if len(values) == 0 {
		return v, nil
	}
	bad := invalid(fieldError{Name: "If-Match", In: "header", Reason: `must be "*" or a list of entity tags such as "1732500000123456"`})
	sawWeak := false
	tags := 0
	for _, line := range values {
		for tag := range strings.SplitSeq(line, ",") {
			tag = strings.TrimSpace(tag)
			if tags++; tags > store.MaxVersions {
				return store.Version{}, invalid(fieldError{Name: "If-Match", In: "header",
					Reason: fmt.Sprintf("must list at most %d entity tags", store.MaxVersions)})
			}
			switch {
			case tag == "*":
				v.Any = true
			case strings.HasPrefix(tag, `W/"`) && strings.HasSuffix(tag, `"`) && len(tag) > 3:
				sawWeak = true
			case len(tag) >= 2 && tag[0] == '"' && tag[len(tag)-1] == '"':
				u, ok := parseETag(tag[1 : len(tag)-1])
				if !ok {
					// A well-formed tag this API never issued matches nothing.
					sawWeak = true
					continue
				}
				v.UpdatedAt = append(v.UpdatedAt, u)
			default:
				return v, bad
			}
		}
	}
	if v.Any {
		return store.Version{Any: true}, nil
	}
	if len(v.UpdatedAt) == 0 && sawWeak {
		// Nothing can match; the zero time is before every updated_at.
		v.UpdatedAt = []time.Time{{}}
	}
	return v, nil
}

// noneMatch reports whether If-None-Match, given as one or more header
// lines, names current or "*" (weak comparison).
func noneMatch(lines []string, current string) bool {
	for _, line := range lines {
		for tag := range strings.SplitSeq(line, ",") {
			tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
			if tag == "*" || tag == current {
				return true
			}
		}
	}
	return false
}

// listParams reads the query of GET /tasks. A query that is not valid
// percent-encoding is refused whole: read leniently, a mangled cursor
// would silently become the first page.
func listParams(rawQuery string) (store.ListParams, error) {
	p := store.ListParams{Limit: defaultLimit}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return p, newProblem(http.StatusBadRequest, "the query string is not valid percent-encoding (RFC 3986)")
	}
	var errs []fieldError
	bad := func(name, reason string) { errs = append(errs, fieldError{Name: name, In: "query", Reason: reason}) }
	for name, vs := range q {
		if len(vs) > 1 {
			bad(name, "given more than once")
			continue
		}
		v := vs[0]
		switch name {
		case "limit":
			// Only the canonical form, as for ids: "01" and "+5" are no
			// page sizes this API writes.
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxLimit || strconv.Itoa(n) != v {
				bad(name, fmt.Sprintf("must be a whole number from 1 to %d", maxLimit))
			}
			p.Limit = n
		case "done":
			switch v {
			case "true":
				p.Done = ptr(true)
			case "false":
				p.Done = ptr(false)
			default:
				bad(name, "must be true or false")
			}
		case "after":
			id, ok := decodeCursor(v)
			if !ok {
				bad(name, "must be a next_cursor value from a previous page")
			}
			p.Before = id
		default:
			bad(name, "unknown parameter")
		}
	}
	if len(errs) > 0 {
		return p, invalid(errs...)
	}
	return p, nil
}

// Cursors are opaque to clients: the last id of a page, base64url-encoded
// with a version prefix so the format can change.
func encodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("v1:" + strconv.FormatInt(id, 10)))
}

// decodeCursor accepts only cursors encodeCursor issues: the decoded id
// must encode back to the very same string. Base64 and decimal both have
// other spellings of a value (stray bits in the last character, leading
// zeros), and a truncated cursor can decode to another position.
func decodeCursor(s string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, false
	}
	rest, ok := strings.CutPrefix(string(b), "v1:")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	return id, err == nil && id > 0 && encodeCursor(id) == s
}

func ptr[T any](v T) *T { return &v }
