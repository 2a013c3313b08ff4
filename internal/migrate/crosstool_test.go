package migrate_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	amigrate "ariga.io/atlas/sql/migrate"

	"tasks/internal/migrate"
)

// ourStatusLines is our status without the lines Atlas does not print
// (the problem and the next step), for comparing with AtlasCLIStatus.
func ourStatusLines(t *testing.T, db *sql.DB, dir amigrate.Dir) (lines, hint string) {
	t.Helper()
	rep, err := migrate.Status(context.Background(), db, dir, migrate.Options{})
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	var b strings.Builder
	rep.Print(&b)
	out := b.String()
	for _, cut := range []string{"\nProblem: ", "\nNext: "} {
		if i := strings.Index(out, cut); i >= 0 {
			out = out[:i]
		}
	}
	return out, rep.Hint
}

// statusesAgree checks that both tools' status print the same lines.
func statusesAgree(t *testing.T, db *sql.DB, dir amigrate.Dir, step string) (ours, hint string) {
	t.Helper()
	theirs, err := migrate.AtlasCLIStatus(context.Background(), db, dir)
	if err != nil {
		t.Fatalf("%s: Atlas CLI status: %v", step, err)
	}
	ours, hint = ourStatusLines(t, db, dir)
	if ours != theirs {
		t.Errorf("%s: the two tools' status disagree\nours:\n%s\nAtlas CLI's:\n%s", step, ours, theirs)
	}
	return ours, hint
}

// TestRecoveryPathsBetweenTools walks each recovery path of the README's
// table between the Atlas CLI (emulated from its source on the same
// library) and this tool: after every step both tools' status print the
// same lines, and at the end both are OK and the Atlas CLI has nothing
// left to apply.
func TestRecoveryPathsBetweenTools(t *testing.T) {
	ctx := context.Background()
	// Statement 2 cannot run twice, as most DDL: an apply that reruns
	// it after it was done by hand fails.
	noneFailing := map[string]string{"1_a.sql": fileA, "2_b.sql": "-- atlas:txmode none\n\nCREATE TABLE b (id int);\nCREATE INDEX b_id ON nope (id);\n"}
	noneFixed := map[string]string{"1_a.sql": fileA, "2_b.sql": "-- atlas:txmode none\n\nCREATE TABLE b (id int);\nCREATE INDEX b_id ON b (id);\n"}
	txFailing := map[string]string{"1_a.sql": fileA, "2_b.sql": fileBBad}
	txFixed := map[string]string{"1_a.sql": fileA, "2_b.sql": fileBFixed}
	type step struct {
		name string
		do   func(t *testing.T, db *sql.DB, dir *amigrate.LocalDir)
		// hint, when set, must be in our status's next step after it.
		hint string
	}
	atlasApply := func(wantErr bool) func(t *testing.T, db *sql.DB, dir *amigrate.LocalDir) {
		return func(t *testing.T, db *sql.DB, dir *amigrate.LocalDir) {
			err := migrate.AtlasCLIApply(ctx, db, dir, "")
			if errors.Is(err, amigrate.ErrNoPendingFiles) {
				err = nil // the CLI says "No migration files to execute"
			}
			if (err != nil) != wantErr {
				t.Fatalf("Atlas CLI apply: err = %v, want an error: %v", err, wantErr)
			}
		}
	}
	ourApply := func(wantErr bool) func(t *testing.T, db *sql.DB, dir *amigrate.LocalDir) {
		return func(t *testing.T, db *sql.DB, dir *amigrate.LocalDir) {
			_, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{})
			if (err != nil) != wantErr {
				t.Fatalf("apply: err = %v, want an error: %v", err, wantErr)
			}
		}
	}
	// ourSet runs make set; a file whose failed attempt it marks applied
	// gets the note that the file itself still needs the fix.
	ourSet := func(v, failedFile string) func(t *testing.T, db *sql.DB, dir *amigrate.LocalDir) {
		return func(t *testing.T, db *sql.DB, dir *amigrate.LocalDir) {
			rep, err := migrate.Set(ctx, db, dir, v, migrate.Options{})
			if err != nil {
				t.Fatalf("set: %v", err)
			}
			var out strings.Builder
			rep.Print(&out)
			if note := failedFile + " failed here and is now marked applied. Every new database still runs the file as it is"; !strings.Contains(out.String(), note) {
				t.Errorf("set output lacks %q:\n%s", note, out.String())
			}
		}
	}
	atlasSet := func(v string) func(t *testing.T, db *sql.DB, dir *amigrate.LocalDir) {
		return func(t *testing.T, db *sql.DB, dir *amigrate.LocalDir) {
			if err := migrate.AtlasCLISet(ctx, db, dir, v); err != nil {
				t.Fatalf("Atlas CLI set: %v", err)
			}
		}
	}
	byHand := func(q string) func(t *testing.T, db *sql.DB, dir *amigrate.LocalDir) {
		return func(t *testing.T, db *sql.DB, dir *amigrate.LocalDir) {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("by hand: %v", err)
			}
		}
	}
	edit := func(f map[string]string) func(t *testing.T, db *sql.DB, dir *amigrate.LocalDir) {
		return func(t *testing.T, db *sql.DB, dir *amigrate.LocalDir) { setDir(t, dir, f) }
	}
	paths := []struct {
		name  string
		start map[string]string
		steps []step
	}{{
		name:  "a file failed under the Atlas CLI: fix it, hash, our apply",
		start: txFailing,
		steps: []step{
			{"Atlas CLI apply fails", atlasApply(true), ""},
			{"fix the file and hash", edit(txFixed), "run 'make migrate' to apply 1 pending file"},
			{"our apply", ourApply(false), "nothing to do"},
		},
	}, {
		name:  "a file failed under our apply: fix it, hash, the Atlas CLI's apply",
		start: txFailing,
		steps: []step{
			{"our apply fails (and records the failure)", ourApply(true), ""},
			{"fix the file and hash", edit(txFixed), ""},
			{"Atlas CLI apply", atlasApply(false), ""},
			{"our apply repairs what the Atlas CLI left", ourApply(false), "nothing to do"},
		},
	}, {
		name:  "txmode none file failed under the Atlas CLI: by hand, then atlas migrate set, then our apply",
		start: noneFailing,
		steps: []step{
			{"Atlas CLI apply fails after statement 1", atlasApply(true), ""},
			{"the rest by hand (psql)", byHand("CREATE INDEX b_id ON b (id)"), ""},
			{"fix the file to what ran, and hash", edit(noneFixed), ""},
			{"atlas migrate set 2", atlasSet("2"), "run 'make migrate': it records version 2 as fully applied without running any of it"},
			{"the Atlas CLI's apply would run the file again and fails", atlasApply(true), ""},
			{"our apply repairs the row", ourApply(false), "nothing to do"},
			{"the Atlas CLI's apply has nothing to do", atlasApply(false), "nothing to do"},
		},
	}, {
		name:  "txmode none file failed under the Atlas CLI: by hand, then make set",
		start: noneFailing,
		steps: []step{
			{"Atlas CLI apply fails after statement 1", atlasApply(true), ""},
			{"the rest by hand (psql)", byHand("CREATE INDEX b_id ON b (id)"), ""},
			{"fix the file to what ran, and hash", edit(noneFixed), ""},
			{"make set version=2", ourSet("2", "2_b.sql"), "nothing to do"},
			{"the Atlas CLI's apply has nothing to do", atlasApply(false), "nothing to do"},
		},
	}, {
		name:  "txmode none file failed under our apply: by hand, then make set, then the Atlas CLI",
		start: noneFailing,
		steps: []step{
			{"our apply fails after statement 1", ourApply(true), "statement 2 of 2_b.sql failed"},
			{"the rest by hand (psql)", byHand("CREATE INDEX b_id ON b (id)"), ""},
			{"fix the file to what ran, and hash", edit(noneFixed), ""},
			{"make set version=2", ourSet("2", "2_b.sql"), "nothing to do"},
			{"the Atlas CLI's apply has nothing to do", atlasApply(false), "nothing to do"},
		},
	}}
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			db := open(t, cluster.Empty(t))
			dir := newDir(t, p.start)
			for _, s := range p.steps {
				s.do(t, db, dir)
				_, hint := statusesAgree(t, db, dir, s.name)
				if s.hint != "" && !strings.Contains(hint, s.hint) {
					t.Errorf("%s: our status's next step = %q\nwant it to contain %q", s.name, hint, s.hint)
				}
			}
			final, _ := ourStatusLines(t, db, dir)
			if !strings.HasPrefix(final, "Migration Status: OK\n  -- Current Version: 2\n") {
				t.Errorf("the path does not end at version 2, OK:\n%s", final)
			}
			if pending, err := migrate.AtlasCLIPending(ctx, db, dir, ""); len(pending) > 0 || (err != nil && err != amigrate.ErrNoPendingFiles) {
				t.Errorf("the Atlas CLI would still apply %v (err %v)", pending, err)
			}
		})
	}
}
