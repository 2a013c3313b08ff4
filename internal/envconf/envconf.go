// Package envconf reads configuration variables one way: a function per
// type, each of which names the variable and the format it wants when the
// value does not fit, and never falls back to a default in silence.
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

// Int returns the variable name as a whole number of at least least, def
// when it is unset or blank.
func Int(getenv func(string) string, name string, def, least int) (int, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < least {
		return 0, &Error{Name: name, Value: v, Want: wantInt(least)}
	}
	return n, nil
}

// Duration returns the variable name as a Go duration (a number with a
// unit: 5s, 1500ms, 2m), def when it is unset or blank.
func Duration(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, &Error{Name: name, Value: v, Want: wantDuration}
	}
	return d, nil
}

// SetFlag sets the flag flagName of fs from the variable name when that
// is set, so that a flag given later on the command line still wins. A
// value the flag refuses is an *Error naming the variable and the
// flag's format.
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

const wantDuration = "a duration with a unit, such as 5s, 1500ms or 2m"

func wantInt(least int) string {
	switch least {
	case 0:
		return "a whole number, 0 or more"
	case 1:
		return "a whole number, 1 or more"
	}
	return fmt.Sprintf("a whole number, %d or more", least)
}

// want describes the format a flag's value takes, from its type.
func want(v flag.Value) string {
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
