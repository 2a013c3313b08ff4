// Package migrate applies versioned migration directories to PostgreSQL the
// way the Atlas CLI does: the same directory format and atlas.sum, the same
// revision table, an advisory lock against concurrent runs, and one
// transaction per file by default. It builds on the open-source
// ariga.io/atlas library and adds what the CLI does around it.
package migrate

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"strings"

	amigrate "ariga.io/atlas/sql/migrate"
)

// OpenDir reads a migration directory (its top-level *.sql files and
// atlas.sum) from fsys into memory, e.g. from an embed.FS. It checks
// nothing; Apply and ValidateSum do.
func OpenDir(fsys fs.FS) (amigrate.Dir, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("migrate: read dir: %w", err)
	}
	dir := &amigrate.MemDir{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || (path.Ext(name) != ".sql" && name != amigrate.HashFileName) {
			continue
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("migrate: read dir: %w", err)
		}
		if err := dir.WriteFile(name, b); err != nil {
			return nil, fmt.Errorf("migrate: read dir: %w", err)
		}
	}
	return dir, nil
}

// OpenLocalDir opens a directory on disk given as a path or a file:// URL
// (the form atlas.hcl uses).
func OpenLocalDir(dirURL string) (*amigrate.LocalDir, error) {
	p := strings.TrimPrefix(dirURL, "file://")
	if u, err := url.Parse(dirURL); err == nil && u.Scheme != "" && u.Scheme != "file" {
		return nil, fmt.Errorf("migrate: unsupported migration directory %q (only file:// directories)", dirURL)
	}
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	d, err := amigrate.NewLocalDir(p)
	if err != nil {
		return nil, fmt.Errorf("migrate: open dir %s: %w", p, err)
	}
	return d, nil
}

// ChecksumError explains, the way the Atlas CLI does, why a directory does
// not match its atlas.sum.
type ChecksumError struct {
	Err *amigrate.ChecksumError
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("migrate: checksum mismatch: you have a checksum error in your migration directory.\n"+
		"\tL%d: %s was %s\n"+
		"Please check your migration files and run '"+cmdHash+"' to re-hash the contents",
		e.Err.Line, e.Err.File, e.Err.Reason)
}

func (e *ChecksumError) Unwrap() error { return e.Err }

// ValidateSum checks that the directory's files match its atlas.sum. The
// error wraps amigrate.ErrChecksumMismatch or amigrate.ErrChecksumNotFound.
func ValidateSum(dir amigrate.Dir) error {
	err := amigrate.Validate(dir)
	var ce *amigrate.ChecksumError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		return &ChecksumError{Err: ce}
	case errors.Is(err, amigrate.ErrChecksumNotFound):
		return fmt.Errorf("migrate: %w: the directory has migration files but no %s; run '%s'",
			err, amigrate.HashFileName, cmdHash)
	default:
		return fmt.Errorf("migrate: validate dir: %w", err)
	}
}

// Hash rewrites the directory's atlas.sum from its files.
func Hash(dir amigrate.Dir) error {
	sum, err := dir.Checksum()
	if err != nil {
		return fmt.Errorf("migrate: hash: %w", err)
	}
	if err := amigrate.WriteSumFile(dir, sum); err != nil {
		return fmt.Errorf("migrate: hash: %w", err)
	}
	return nil
}

// Head returns the version of the directory's last migration file, or ""
// when it has none.
func Head(dir amigrate.Dir) (string, error) {
	files, err := dir.Files()
	if err != nil {
		return "", fmt.Errorf("migrate: read dir: %w", err)
	}
	if len(files) == 0 {
		return "", nil
	}
	return files[len(files)-1].Version(), nil
}
