package migrate

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	amigrate "ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/sqltool"
)

// ImportFormats are the directory formats Import reads, as the Atlas CLI
// names them in a directory URL's format parameter.
var ImportFormats = []string{"golang-migrate", "goose", "flyway", "dbmate"}

// Import converts the migration directory fromURL
// (file://DIR?format=golang-migrate|goose|flyway|dbmate) into Atlas's
// format in dst, as the Atlas CLI's `migrate import` does: each file's up
// statements only (down files and sections are dropped), each with the
// comments directly above it, under the file's version and description
// (Flyway's repeatable files get versions after the versioned ones), then
// atlas.sum. dst must hold no migration file yet. It returns the number of
// files written.
func Import(fromURL string, dst *amigrate.LocalDir) (int, error) {
	u, err := url.Parse(fromURL)
	if err != nil || (u.Scheme != "file" && u.Scheme != "") {
		return 0, fmt.Errorf("migrate: import: --from must be a file:// directory URL with a format, e.g. file://migrations?format=golang-migrate; got %q", fromURL)
	}
	path := filepath.Join(u.Host, u.Path)
	format := u.Query().Get("format")
	var src amigrate.Dir
	switch format {
	case "", "atlas":
		return 0, fmt.Errorf("migrate: import: %q is already in Atlas's format: say which tool wrote it, ?format=%s",
			fromURL, strings.Join(ImportFormats, "|"))
	case "golang-migrate":
		src, err = sqltool.NewGolangMigrateDir(path)
	case "goose":
		src, err = sqltool.NewGooseDir(path)
	case "flyway":
		src, err = sqltool.NewFlywayDir(path)
	case "dbmate":
		src, err = sqltool.NewDBMateDir(path)
	default:
		return 0, fmt.Errorf("migrate: import: unknown format %q: use one of %s", format, strings.Join(ImportFormats, ", "))
	}
	if err != nil {
		return 0, fmt.Errorf("migrate: import: open %s: %w", path, err)
	}
	// A directory without atlas.sum is fine (another tool wrote it); one
	// whose atlas.sum disagrees is not.
	if err := amigrate.Validate(src); err != nil && !errors.Is(err, amigrate.ErrChecksumNotFound) {
		return 0, fmt.Errorf("migrate: import: %s does not match its atlas.sum: %w", path, err)
	}
	if existing, err := dst.Files(); err != nil {
		return 0, fmt.Errorf("migrate: import: %w", err)
	} else if len(existing) > 0 {
		return 0, fmt.Errorf("migrate: import: the target directory %s already holds %d migration file(s); import into an empty directory",
			dst.Path(), len(existing))
	}
	files, err := src.Files()
	if err != nil {
		return 0, fmt.Errorf("migrate: import: read %s: %w", path, err)
	}
	if format == "flyway" {
		sqltool.SetRepeatableVersion(files)
	}
	for _, f := range files {
		stmts, err := f.StmtDecls()
		if err != nil {
			return 0, fmt.Errorf("migrate: import: %s: %w", f.Name(), err)
		}
		p := &amigrate.Plan{Version: f.Version(), Name: f.Desc(), Changes: make([]*amigrate.Change, len(stmts))}
		for i, s := range stmts {
			var b strings.Builder
			for _, c := range s.Comments {
				b.WriteString(c)
				if !strings.HasSuffix(c, "\n") {
					b.WriteByte('\n')
				}
			}
			b.WriteString(strings.TrimSuffix(s.Text, ";"))
			p.Changes[i] = &amigrate.Change{Cmd: b.String()}
		}
		out, err := amigrate.DefaultFormatter.Format(p)
		if err != nil {
			return 0, fmt.Errorf("migrate: import: %s: %w", f.Name(), err)
		}
		for _, o := range out {
			if err := dst.WriteFile(o.Name(), o.Bytes()); err != nil {
				return 0, fmt.Errorf("migrate: import: %w", err)
			}
		}
	}
	if err := Hash(dst); err != nil {
		return 0, err
	}
	return len(files), nil
}
