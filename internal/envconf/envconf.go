// Package envconf reads configuration variables one way: each variable
// sets a flag, flags given on the command line win, and a value that
// does not fit is an error naming the variable (or flag) and the format
// it wants, never a silent fall back to the default.
package envconf

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Error is a variable whose value does not fit: its name, the value and
// the format wanted.
type Error struct {
	Name, Value, Want string
}

func (e *Error) Error() string {
	return fmt.Sprintf("$%s=%q: want %s", e.Name, e.Value, e.Want)
}

// Var pairs a flag with the environment variable that sets it.
type Var struct{ Flag, Env string }

// Bind sets each flag of vars from its variable, in order, before the
// command line is parsed, so that a flag given there still wins. The
// first value a flag refuses is an *Error.
func Bind(fs *flag.FlagSet, getenv func(string) string, vars []Var) error {
	for _, v := range vars {
		if err := SetFlag(fs, getenv, v.Env, v.Flag); err != nil {
			return err
		}
	}
	return nil
}

// SetFlag sets the flag flagName of fs from the variable name when that
// is set (blank counts as unset). A value the flag refuses is an *Error
// naming the variable and the flag's format.
func SetFlag(fs *flag.FlagSet, getenv func(string) string, name, flagName string) error {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return nil
	}
	f := fs.Lookup(flagName)
	if f == nil {
		return fmt.Errorf("envconf: no flag %q for $%s", flagName, name)
	}
	if err := f.Value.Set(v); err != nil {
		return &Error{Name: name, Value: v, Want: want(f.Value)}
	}
	return nil
}

// Int defines an int flag that refuses values below least, saying so.
func Int(fs *flag.FlagSet, name string, def, least int, usage string) *int {
	v := &intValue{n: def, least: least}
	fs.Var(v, name, usage)
	return &v.n
}

// Duration defines a duration flag that refuses negative values, and 0
// unless zeroOK.
func Duration(fs *flag.FlagSet, name string, def time.Duration, zeroOK bool, usage string) *time.Duration {
	v := &durationValue{d: def, zeroOK: zeroOK}
	fs.Var(v, name, usage)
	return &v.d
}

type intValue struct{ n, least int }

func (v *intValue) String() string { return strconv.Itoa(v.n) }
func (v *intValue) Get() any       { return v.n }
func (v *intValue) want() string   { return wantInt(v.least) }

func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < v.least {
		return fmt.Errorf("want %s", v.want())
	}
	v.n = n
	return nil
}

type durationValue struct {
	d      time.Duration
	zeroOK bool
}

func (v *durationValue) String() string { return v.d.String() }
func (v *durationValue) Get() any       { return v.d }

func (v *durationValue) want() string {
	if v.zeroOK {
		return wantDuration + ", 0 or more"
	}
	return wantDuration + ", above 0"
}

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d < 0 || (d == 0 && !v.zeroOK) {
		return fmt.Errorf("want %s", v.want())
	}
	v.d = d
	return nil
}

const wantDuration = "a duration with a unit, such as 5s, 1500ms or 2m"

func wantInt(least int) string {
	return fmt.Sprintf("a whole number, %d or more", least)
}

// want describes the format a flag's value takes: the flag's own words
// for this package's flags, else from its type.
func want(v flag.Value) string {
	if w, ok := v.(interface{ want() string }); ok {
		return w.want()
	}
	g, ok := v.(flag.Getter)
	if !ok {
		return "a valid value"
	}
	switch g.Get().(type) {
	case time.Duration:
		return wantDuration
	case int, int64, uint, uint64:
		return "a whole number"
	case bool:
		return "true or false"
	case float64:
		return "a number"
	}
	return "a valid value"
}
