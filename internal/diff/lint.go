package diff

import (
	"context"
	"fmt"
	"strings"

	amigrate "ariga.io/atlas/sql/migrate"

	"tasks/internal/catalog"
	"tasks/internal/migrate"
)

// Validate checks that the directory matches its atlas.sum and that its
// files replay cleanly on a scratch database of the dev server.
func Validate(ctx context.Context, dir amigrate.Dir, devURL string) error {
	if err := migrate.ValidateSum(dir); err != nil {
		return err
	}
	dev, err := openDev(ctx, devURL)
	if err != nil {
		return err
	}
	defer dev.close()
	db, err := dev.scratch(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	return Replay(ctx, db, dir)
}

// Finding is one problem lint reports.
type Finding struct {
	File   string
	Line   int
	Reason string
}

func (f Finding) String() string {
	if f.File == "" {
		return f.Reason
	}
	return fmt.Sprintf("%s:%d: %s", f.File, f.Line, f.Reason)
}

// Lint checks the last `latest` files of dir for destructive changes
// (dropped tables, columns or schemas, truncations), unless a statement
// is marked `-- atlas:nolint`, and checks the schema the whole directory
// builds for tables with an updated_at column but no BEFORE UPDATE row
// trigger whose function sets it.
func Lint(ctx context.Context, dir amigrate.Dir, devURL string, latest int) ([]Finding, error) {
	if err := migrate.ValidateSum(dir); err != nil {
		return nil, err
	}
	files, err := dir.Files()
	if err != nil {
		return nil, fmt.Errorf("diff: lint: %w", err)
	}
	if latest > 0 && latest < len(files) {
		files = files[len(files)-latest:]
	}
	var findings []Finding
	for _, f := range files {
		text := string(f.Bytes())
		stmts, err := amigrate.Stmts(text)
		if err != nil {
			return nil, fmt.Errorf("diff: lint %s: %w", f.Name(), err)
		}
		for _, s := range stmts {
			if nolint(s.Comments) {
				continue
			}
			if reason := destructive(s.Text); reason != "" {
				line, _ := lineCol(text, s.Pos)
				findings = append(findings, Finding{File: f.Name(), Line: line, Reason: "destructive change: " + reason})
			}
		}
	}

	dev, err := openDev(ctx, devURL)
	if err != nil {
		return nil, err
	}
	defer dev.close()
	db, err := dev.scratch(ctx)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if err := Replay(ctx, db, dir); err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `
SELECT c.relname FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'updated_at' AND NOT a.attisdropped
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
  AND NOT EXISTS (
    SELECT 1 FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
    WHERE t.tgrelid = c.oid AND NOT t.tgisinternal
      -- tgtype bits: 1 row, 2 before, 16 update
      AND t.tgtype & 19 = 19
      AND p.prosrc ~* 'new\s*\.\s*"?updated_at')
ORDER BY 1`, dev.schema)
	if err != nil {
		return nil, fmt.Errorf("diff: lint: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var table string
		if err := rows.Scan(&table); err != nil {
			return nil, fmt.Errorf("diff: lint: %w", err)
		}
		findings = append(findings, Finding{Reason: fmt.Sprintf(
			"table %q has an updated_at column but no BEFORE UPDATE row trigger that sets it: "+
				"UPDATEs will leave it stale (add one to schema.sql, then migrate diff)", table)})
	}
	return findings, rows.Err()
}

// destructive says what a statement destroys, or "".
func destructive(stmt string) string {
	toks := strings.Fields(catalog.NormalizeBody(stmt))
	has := func(i int, words ...string) bool {
		if i+len(words) > len(toks) {
			return false
		}
		for j, w := range words {
			if toks[i+j] != w {
				return false
			}
		}
		return true
	}
	switch {
	case has(0, "drop", "table"):
		return "drops table " + strings.TrimSuffix(strings.Join(toks[2:], " "), " ;")
	case has(0, "drop", "schema"):
		return "drops schema " + strings.TrimSuffix(strings.Join(toks[2:], " "), " ;")
	case has(0, "truncate"):
		return "truncates " + strings.TrimSuffix(strings.Join(toks[1:], " "), " ;")
	case has(0, "alter", "table"):
		var cols []string
		for i := range toks {
			if has(i, "drop", "column") && i+2 < len(toks) {
				name := toks[i+2]
				if name == "if" && has(i+2, "if", "exists") && i+4 < len(toks) {
					name = toks[i+4]
				}
				cols = append(cols, name)
			}
		}
		if len(cols) > 0 {
			return fmt.Sprintf("drops column %s of table %s", strings.Join(cols, ", "), toks[2])
		}
	}
	return ""
}

func nolint(comments []string) bool {
	for _, c := range comments {
		if strings.Contains(c, "atlas:nolint") {
			return true
		}
	}
	return false
}
