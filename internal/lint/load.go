package lint

import (
	"context"
	"database/sql"
	"fmt"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/schema"
	"ariga.io/atlas/sql/sqlcheck"
)

// loader replays migration files on an empty dev database and records,
// for each statement of the files being linted, the schema changes it
// caused: what Atlas's analyzers read. It is the equivalent of the Atlas
// CLI's dev loader: execute a statement, inspect, diff with the state
// before it.
type loader struct {
	db     *sql.DB
	drv    migrate.Driver
	schema string // the one schema the dev connection works in
	// watch, when set, records catalog facts around each linted
	// statement for the lock-hazard analyzers.
	watch *stmtWatch
}

// replay runs files on the dev database without looking at their changes:
// the base the linted files start from.
func (l *loader) replay(ctx context.Context, files []migrate.File) error {
	for _, f := range files {
		stmts, err := migrate.FileStmtDecls(l.drv, f)
		if err != nil {
			return fmt.Errorf("lint: %s: scanning statements: %w", f.Name(), err)
		}
		for _, s := range stmts {
			if _, err := l.db.ExecContext(ctx, s.Text); err != nil {
				return fmt.Errorf("lint: replay %s: L%d: %w", f.Name(), line(f.Bytes(), s.Pos), err)
			}
		}
	}
	return nil
}

// load executes f statement by statement on top of start, the state the
// earlier files left, and returns it as sqlcheck sees a file: each
// statement with its changes, and the file's sum from start to its end.
//
// first says f runs on an empty database (no file before it): then a
// long file is executed whole and diffed once, as the Atlas CLI does for
// a baseline, since per-statement inspection grows with the square of
// its length and an empty database has no data to endanger.
func (l *loader) load(ctx context.Context, f migrate.File, start *schema.Realm, first bool) (*sqlcheck.File, error) {
	stmts, err := migrate.FileStmtDecls(l.drv, f)
	if err != nil {
		return nil, fmt.Errorf("lint: %s: scanning statements: %w", f.Name(), err)
	}
	file := &sqlcheck.File{File: f, From: start, Parser: parser{}}
	if first && len(stmts) > maxStmtDiffs {
		return l.loadWhole(ctx, file, stmts)
	}
	cur := start
	parts, err := l.partitionNames(ctx)
	if err != nil {
		return nil, err
	}
	startParts := parts
	if l.watch != nil {
		if err := l.watch.startFile(ctx, l.db); err != nil {
			return nil, err
		}
	}
	for _, s := range stmts {
		if l.watch != nil {
			if err := l.watch.before(ctx, l.db, s); err != nil {
				return nil, err
			}
		}
		if _, err := l.db.ExecContext(ctx, s.Text); err != nil {
			return nil, fmt.Errorf("lint: %s: L%d: %w", f.Name(), line(f.Bytes(), s.Pos), err)
		}
		if l.watch != nil {
			if err := l.watch.after(ctx, l.db, s); err != nil {
				return nil, err
			}
		}
		next, err := l.inspect(ctx)
		if err != nil {
			return nil, err
		}
		changes, err := l.drv.RealmDiff(cur, next)
		if err != nil {
			return nil, fmt.Errorf("lint: %s: L%d: diff: %w", f.Name(), line(f.Bytes(), s.Pos), err)
		}
		nextParts, err := l.partitionNames(ctx)
		if err != nil {
			return nil, err
		}
		changes = withPartitions(changes, startParts, parts, nextParts, next)
		parts = nextParts
		file.Changes = append(file.Changes, &sqlcheck.Change{Stmt: s, Changes: fixRenames(s.Text, changes)})
		cur = next
	}
	if file.Sum, err = l.drv.RealmDiff(start, cur); err != nil {
		return nil, fmt.Errorf("lint: %s: diff: %w", f.Name(), err)
	}
	file.To = cur
	return file, nil
}

// maxStmtDiffs is the longest first file analyzed statement by statement.
const maxStmtDiffs = 10

// loadWhole executes a file's statements and records the file's changes
// as one, at the start of the file.
func (l *loader) loadWhole(ctx context.Context, file *sqlcheck.File, stmts []*migrate.Stmt) (*sqlcheck.File, error) {
	for _, s := range stmts {
		if _, err := l.db.ExecContext(ctx, s.Text); err != nil {
			return nil, fmt.Errorf("lint: %s: L%d: %w", file.Name(), line(file.Bytes(), s.Pos), err)
		}
	}
	end, err := l.inspect(ctx)
	if err != nil {
		return nil, err
	}
	if file.Sum, err = l.drv.RealmDiff(file.From, end); err != nil {
		return nil, fmt.Errorf("lint: %s: diff: %w", file.Name(), err)
	}
	file.Changes = []*sqlcheck.Change{{Stmt: &migrate.Stmt{Pos: 0}, Changes: file.Sum}}
	file.To = end
	return file, nil
}

// inspect reads the dev schema, as a realm of that one schema.
func (l *loader) inspect(ctx context.Context) (*schema.Realm, error) {
	s, err := l.drv.InspectSchema(ctx, l.schema, &schema.InspectOptions{})
	if err != nil {
		return nil, fmt.Errorf("lint: inspect dev schema %q: %w", l.schema, err)
	}
	if s.Realm == nil {
		s.Realm = schema.NewRealm(s)
	}
	return s.Realm, nil
}

// fixRenames turns the drop-and-add a diff sees for ALTER TABLE … RENAME
// back into the rename the statement did, so that the
// backward-incompatible analyzer (BC101, BC102) can see it.
func fixRenames(stmt string, changes schema.Changes) schema.Changes {
	r, ok := parseRename(stmt)
	if !ok {
		return changes
	}
	if r.column == "" {
		return asRename(changes, func(c schema.Change) bool {
			d, ok := c.(*schema.DropTable)
			return ok && d.T.Name == r.table
		}, func(c schema.Change) bool {
			a, ok := c.(*schema.AddTable)
			return ok && a.T.Name == r.to
		}, func(d, a schema.Change) schema.Change {
			return &schema.RenameTable{From: d.(*schema.DropTable).T, To: a.(*schema.AddTable).T}
		})
	}
	for _, c := range changes {
		if m, ok := c.(*schema.ModifyTable); ok && m.T.Name == r.table {
			m.Changes = asRename(m.Changes, func(c schema.Change) bool {
				d, ok := c.(*schema.DropColumn)
				return ok && d.C.Name == r.column
			}, func(c schema.Change) bool {
				a, ok := c.(*schema.AddColumn)
				return ok && a.C.Name == r.to
			}, func(d, a schema.Change) schema.Change {
				return &schema.RenameColumn{From: d.(*schema.DropColumn).C, To: a.(*schema.AddColumn).C}
			})
		}
	}
	return changes
}

// asRename replaces the change isDrop matches and the one isAdd matches
// with rename(drop, add), first; with either missing, changes are kept.
func asRename(changes schema.Changes, isDrop, isAdd func(schema.Change) bool, rename func(d, a schema.Change) schema.Change) schema.Changes {
	drop, add := -1, -1
	for i, c := range changes {
		switch {
		case isDrop(c):
			drop = i
		case isAdd(c):
			add = i
		}
	}
	if drop == -1 || add == -1 {
		return changes
	}
	out := schema.Changes{rename(changes[drop], changes[add])}
	for i, c := range changes {
		if i != drop && i != add {
			out = append(out, c)
		}
	}
	return out
}

// line is the 1-based line of a byte offset.
func line(text []byte, pos int) int {
	pos = min(max(pos, 0), len(text))
	n := 1
	for _, b := range text[:pos] {
		if b == '\n' {
			n++
		}
	}
	return n
}
