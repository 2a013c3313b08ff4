package diff

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	amigrate "ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"
	"github.com/lib/pq"

	"tasks/internal/atlasconf"
	"tasks/internal/migrate"
	"tasks/internal/revtable"
)

// RevertConfig is one revert plan: from what a database holds now back
// to what the directory builds up to a version.
type RevertConfig struct {
	Dir amigrate.Dir
	// To is the last version kept; "" reverts every file.
	To string
	// From is the database's current version (its last revision): the
	// plan is checked on a dev copy built from the files up to it.
	From string
	// Target is the database to revert, read only here. It must hold a
	// single connection (SetMaxOpenConns(1)): the catalog is read under
	// one search_path.
	Target *sql.DB
	DevURL string // dev database (docker:// or postgres://)
}

// Revert is a computed revert plan.
type Revert struct {
	Changes []*amigrate.Change
	// Checks guard what the plan would destroy: each table it drops and
	// each column it drops from a table it keeps.
	Checks []migrate.DataCheck
	// Note says why the plan could not be checked on the dev database,
	// "" when it was.
	Note string
}

// PlanRevert plans the statements that take the target database from
// its current state to the state the directory's files up to c.To build
// on a scratch database of the dev server, with the same inspection and
// planner as diff. The plan is then run on a dev copy of the current
// state (the files up to c.From) and must build the target version's
// state exactly; when the database differs from its own files (changed
// by hand), that check is skipped and Note says so.
func PlanRevert(ctx context.Context, c RevertConfig) (*Revert, error) {
	if err := migrate.ValidateSum(c.Dir); err != nil {
		return nil, err
	}
	dev, err := openDev(ctx, c.DevURL)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	defer dev.close()
	schemas, def := managed(nil, dev.schema)

	des, err := dev.replayedUpTo(ctx, c.Dir, c.To)
	if err != nil {
		return nil, err
	}
	defer des.Close()
	// The dev copy of the current state: the plan is rehearsed on it,
	// and the schemas it and the kept state create are managed, as diff
	// manages them (never those found only on the target, which no file
	// made).
	v, err := dev.replayedUpTo(ctx, c.Dir, c.From)
	if err != nil {
		return nil, err
	}
	defer v.Close()
	created, err := createdSchemas(ctx, schemas, des, v)
	if err != nil {
		return nil, err
	}
	if schemas, def, err = withCreated(schemas, def, created, nil); err != nil {
		return nil, err
	}
	// A revision table among the target's own tables stays as it is.
	var revInSchema bool
	if err := c.Target.QueryRowContext(ctx, "SELECT to_regclass($1) IS NOT NULL",
		pq.QuoteIdentifier(dev.schema)+"."+revtable.Table).Scan(&revInSchema); err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	if revInSchema {
		if err := migrate.EnsureRevisionTable(ctx, des, dev.schema); err != nil {
			return nil, err
		}
	}
	if err := inspectPath(ctx, def, des, c.Target); err != nil {
		return nil, err
	}
	// Plain plans: Down runs the revert in one transaction.
	changes, err := plan(ctx, c.Target, des, schemas, def, atlasconf.Diff{})
	if err != nil {
		return nil, err
	}
	checks, err := dataChecks(ctx, c.Target, des, schemas, def)
	if err != nil {
		return nil, err
	}
	r := &Revert{Changes: changes, Checks: checks}

	// Check the plan on the dev copy of the current state, as diff
	// checks what it writes.
	if revInSchema {
		if err := migrate.EnsureRevisionTable(ctx, v, dev.schema); err != nil {
			return nil, err
		}
	}
	if err := inspectPath(ctx, def, v); err != nil {
		return nil, err
	}
	drift, err := differences(ctx, c.Target, v, schemas)
	if err != nil {
		return nil, err
	}
	if len(drift) > 0 {
		r.Note = fmt.Sprintf("the database differs from what its files up to %s build (changed by hand?), "+
			"so the plan was computed from the database but not rehearsed on the dev database:\n  %s",
			orNone(c.From), strings.Join(drift, "\n  "))
		return r, nil
	}
	files, err := fileFormat{}.Format(&amigrate.Plan{Changes: changes})
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	if err := execFiles(ctx, v, files); err != nil {
		return nil, err
	}
	if ds, err := differences(ctx, des, v, schemas); err != nil {
		return nil, err
	} else if len(ds) > 0 {
		return nil, fmt.Errorf("diff: self-check: the revert plan does not build version %s's state, nothing done; it cannot revert:\n  %s",
			orNone(c.To), strings.Join(ds, "\n  "))
	}
	return r, nil
}

func orNone(v string) string {
	if v == "" {
		return "(none)"
	}
	return v
}

// replayedUpTo is a scratch database on the dev server holding what
// dir's files up to version build.
func (d *devServer) replayedUpTo(ctx context.Context, dir amigrate.Dir, version string) (*sql.DB, error) {
	files, err := dirUpTo(dir, version)
	if err != nil {
		return nil, err
	}
	db, err := d.scratch(ctx)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	if err := Replay(ctx, db, files); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// dirUpTo is dir with only its files up to and including version ("":
// none), re-hashed, so that Replay runs exactly those.
func dirUpTo(dir amigrate.Dir, version string) (amigrate.Dir, error) {
	files, err := dir.Files()
	if err != nil {
		return nil, fmt.Errorf("diff: read dir: %w", err)
	}
	sub := &amigrate.MemDir{}
	for _, f := range files {
		if version == "" || f.Version() > version {
			continue
		}
		if err := sub.WriteFile(f.Name(), f.Bytes()); err != nil {
			return nil, fmt.Errorf("diff: %w", err)
		}
	}
	sum, err := sub.Checksum()
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	if err := amigrate.WriteSumFile(sub, sum); err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	return sub, nil
}

// dataChecks names every table of cur that des does not have, and every
// column of a table both have that des's table lacks: the data a plan
// from cur to des drops. A column whose type changes keeps its data (or
// the statement fails), so it is not among them.
func dataChecks(ctx context.Context, cur, des *sql.DB, schemas []string, def string) ([]migrate.DataCheck, error) {
	curDrv, err := postgres.Open(cur)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	desDrv, err := postgres.Open(des)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	from, err := inspectTables(ctx, curDrv, schemas, def)
	if err != nil {
		return nil, fmt.Errorf("diff: inspect the database: %w", err)
	}
	to, err := inspectTables(ctx, desDrv, schemas, def)
	if err != nil {
		return nil, fmt.Errorf("diff: inspect the target version: %w", err)
	}
	var checks []migrate.DataCheck
	for _, s := range from.Schemas {
		name := s.Name
		if name == "" {
			name = def
		}
		var kept *schema.Schema
		for _, ts := range to.Schemas {
			if ts.Name == s.Name {
				kept = ts
			}
		}
		for _, t := range s.Tables {
			qt := pq.QuoteIdentifier(name) + "." + pq.QuoteIdentifier(t.Name)
			var tt *schema.Table
			if kept != nil {
				tt, _ = kept.Table(t.Name)
			}
			if tt == nil {
				checks = append(checks, migrate.DataCheck{
					Table: qt,
					Query: "SELECT EXISTS (SELECT 1 FROM " + qt + ")",
					What:  fmt.Sprintf("table %q, which the revert drops, holds rows", t.Name),
				})
				continue
			}
			for _, col := range t.Columns {
				if _, ok := tt.Column(col.Name); ok {
					continue
				}
				qc := pq.QuoteIdentifier(col.Name)
				checks = append(checks, migrate.DataCheck{
					Table: qt,
					Query: "SELECT EXISTS (SELECT 1 FROM " + qt + " WHERE " + qc + " IS NOT NULL)",
					What:  fmt.Sprintf("column %q of table %q, which the revert drops, holds values", col.Name, t.Name),
				})
			}
		}
	}
	return checks, nil
}
