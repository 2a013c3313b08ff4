// Package dburl reads and rewrites PostgreSQL connection strings in both
// forms lib/pq accepts, URLs (postgres://user:pass@host/db?k=v) and
// keyword/value strings (host=… password='…'), so that every place that
// prints one hides the password the same way.
package dburl

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// hidden replaces secrets in printed connection strings.
const hidden = "xxxxx"

// IsURL reports whether s is in URL form, by lib/pq's rule: the scheme
// postgres or postgresql; anything else is read as keyword/value pairs.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Redact returns s with every password hidden (the URL's user info and
// any parameter whose name contains "password", such as sslpassword),
// fit for logs and error messages. What cannot be parsed is not echoed.
func Redact(s string) string {
	if IsURL(s) {
		u, err := url.Parse(s)
		if err != nil {
			return "(unparsable database URL)"
		}
		q := u.Query()
		for k := range q {
			if secret(k) {
				q.Set(k, hidden)
			}
		}
		u.RawQuery = q.Encode()
		return u.Redacted()
	}
	kvs, err := parseKeywords(s)
	if err != nil {
		return "(unparsable database connection string)"
	}
	for i := range kvs {
		if secret(kvs[i].key) {
			kvs[i].value = hidden
		}
	}
	return renderKeywords(kvs)
}

// SetDefaults returns s with each parameter of defaults (name, value
// pairs, in order) added unless s sets it already. A string that is
// neither form is an error whose message holds no part of it.
func SetDefaults(s string, defaults [][2]string) (string, error) {
	if IsURL(s) {
		u, err := url.Parse(s)
		if err != nil {
			return "", errors.New("dburl: not a valid postgres:// URL")
		}
		q := u.Query()
		for _, d := range defaults {
			if !q.Has(d[0]) {
				q.Set(d[0], d[1])
			}
		}
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	kvs, err := parseKeywords(s)
	if err != nil {
		return "", err
	}
	if len(kvs) == 0 {
		return "", errors.New("dburl: empty connection string")
	}
	set := map[string]bool{}
	for _, kv := range kvs {
		set[kv.key] = true
	}
	for _, d := range defaults {
		if !set[d[0]] {
			kvs = append(kvs, keyValue{d[0], d[1]})
		}
	}
	return renderKeywords(kvs), nil
}

func secret(key string) bool { return strings.Contains(strings.ToLower(key), "password") }

type keyValue struct{ key, value string }

// lib/pq's NewConfig parses this form too, but into a Config merged with
// PG* variables and defaults that cannot be rendered back, which
// SetDefaults and Redact need: so the form is read here.
//
// parseKeywords reads libpq's keyword/value form: key = value pairs
// separated by white space; a value is either single-quoted, with \' and
// \\ as escapes, or runs to the next white space.
func parseKeywords(s string) ([]keyValue, error) {
	var kvs []keyValue
	i := 0
	skip := func() {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
	}
	for {
		skip()
		if i == len(s) {
			return kvs, nil
		}
		start := i
		for i < len(s) && s[i] != '=' && !isSpace(s[i]) {
			i++
		}
		key := s[start:i]
		skip()
		if key == "" || i == len(s) || s[i] != '=' {
			return nil, fmt.Errorf("dburl: parameter %d is not key=value", len(kvs)+1)
		}
		i++ // '='
		skip()
		var v strings.Builder
		if i < len(s) && s[i] == '\'' {
			i++
			for {
				if i == len(s) {
					return nil, fmt.Errorf("dburl: unterminated quoted value of %q", key)
				}
				c := s[i]
				i++
				if c == '\'' {
					break
				}
				if c == '\\' && i < len(s) {
					c = s[i]
					i++
				}
				v.WriteByte(c)
			}
		} else {
			for i < len(s) && !isSpace(s[i]) {
				c := s[i]
				i++
				if c == '\\' && i < len(s) {
					c = s[i]
					i++
				}
				v.WriteByte(c)
			}
		}
		kvs = append(kvs, keyValue{key, v.String()})
	}
}

// renderKeywords writes pairs back, quoting every value so that spaces,
// quotes and backslashes survive.
func renderKeywords(kvs []keyValue) string {
	var b strings.Builder
	for i, kv := range kvs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(kv.key)
		b.WriteString("='")
		b.WriteString(strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(kv.value))
		b.WriteByte('\'')
	}
	return b.String()
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}
