package migrate_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"

	amigrate "ariga.io/atlas/sql/migrate"

	"tasks/internal/dbtest"
	"tasks/internal/migrate"
)

// Statements that can run any number of times, so that whatever a fuzzed
// row makes apply rerun succeeds and only the revision logic is tested.
var fuzzFiles = map[string]string{
	"1_a.sql": "CREATE TABLE IF NOT EXISTS a (id int);\nSELECT 1;\n",
	"2_b.sql": "CREATE TABLE IF NOT EXISTS b (id int);\nSELECT 2;\nSELECT 3;\n",
}

var fuzzStmts = map[string][]string{
	"1": {"CREATE TABLE IF NOT EXISTS a (id int);", "SELECT 1;"},
	"2": {"CREATE TABLE IF NOT EXISTS b (id int);", "SELECT 2;", "SELECT 3;"},
}

var setCommand = regexp.MustCompile(`make set version=(\S+)`)
var deleteCommand = regexp.MustCompile(`-c "(DELETE FROM [^"]+)"`)

// FuzzRevisionRows puts one arbitrary row into the revision table (after
// a regular row for version 1 where that makes sense) and checks that
// status and apply never panic; that apply either finishes, leaving rows
// the Atlas executor reads as done, or refuses with a fix; and that the
// first fix it names, run as given, lets apply finish.
func FuzzRevisionRows(f *testing.F) {
	f.Add(uint8(1), int64(1), int64(2), int64(2), "", false, uint8(1), "")          // stale total (issue 12)
	f.Add(uint8(1), int64(0), int64(2), int64(2), "pq: boom", false, uint8(1), "")  // failed attempt
	f.Add(uint8(1), int64(1), int64(3), int64(2), "pq: boom", false, uint8(2), "")  // resumable
	f.Add(uint8(1), int64(2), int64(3), int64(2), "pq: boom", false, uint8(3), "")  // hashes too short
	f.Add(uint8(1), int64(1), int64(3), int64(2), "pq: boom", false, uint8(5), "")  // history changed
	f.Add(uint8(2), int64(1), int64(2), int64(2), "", true, uint8(0), "")           // file deleted
	f.Add(uint8(3), int64(0), int64(0), int64(1), "", true, uint8(0), "")           // baseline below all
	f.Add(uint8(0), int64(-1), int64(5), int64(6), "x", false, uint8(4), `{"a":1}`) // unreadable
	f.Add(uint8(1), int64(9), int64(2), int64(1<<40), "", false, uint8(4), `["h1:x"]`)

	cl := cluster
	if cl == nil {
		// A fuzzing worker: dbtest.Main starts no server there.
		// Without one, Require below skips, or fails under CI.
		var err error
		if cl, err = dbtest.Open(context.Background()); err != nil {
			f.Log("no PostgreSQL:", err)
			cl = nil
		} else {
			f.Cleanup(func() { cl.Close() })
		}
	}
	dbtest.Require(f, cl)
	db := open(f, cl.Empty(f))
	dir := newDir(f, fuzzFiles)
	ctx := context.Background()

	f.Fuzz(func(t *testing.T, pick uint8, applied, total, typ int64, errText string, errNull bool, partKind uint8, rawPart string) {
		if err := migrate.CreateRevisionTable(ctx, db, migrate.DefaultRevisionsSchema); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{`DROP TABLE IF EXISTS a, b`, `TRUNCATE ` + revTable} {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		version := []string{"1", "2", "3", "0"}[pick%4]
		if version == "2" || version == "3" {
			// Version 1 applied before, as either tool records it.
			if _, err := migrate.Apply(ctx, db, dir, 1, migrate.Options{}); err != nil {
				t.Fatal(err)
			}
		}
		r := rawRow{Version: version, Desc: "x", Type: typ, Applied: applied, Total: total, Hash: "h"}
		if !errNull {
			// PostgreSQL text holds valid UTF-8 without NUL; so does what a
			// tool can have written.
			errText = strings.ReplaceAll(strings.ToValidUTF8(errText, "?"), "\x00", "")
			r.Error, r.ErrorStmt = str(errText), str("SELECT 9;")
		}
		stmts := fuzzStmts[version]
		if stmts == nil {
			stmts = fuzzStmts["2"]
		}
		n := int(min(max(applied, 0), int64(len(stmts))))
		switch partKind % 6 {
		case 0: // SQL NULL
		case 1:
			r.Parts = str("null")
		case 2:
			r.Parts = partialHashes(stmts[:n]...)
		case 3:
			r.Parts = partialHashes(stmts[:max(n-1, 0)]...)
		case 4:
			rawPart = strings.ToValidUTF8(rawPart, "?")
			if json.Valid([]byte(rawPart)) && !strings.Contains(rawPart, `\u0000`) {
				r.Parts = str(rawPart)
			} else {
				r.Parts = str("[]")
			}
		case 5:
			r.Parts = partialHashes(append([]string{"SELECT 0;"}, stmts[1:n]...)...)
		}
		insertRow(t, db, r)

		rep, err := migrate.Status(ctx, db, dir, migrate.Options{})
		if err != nil {
			t.Fatalf("status: %v", err)
		}
		var sb strings.Builder
		rep.Print(&sb)
		if rep.Hint == "" {
			t.Fatalf("status without a next step:\n%s", sb.String())
		}

		// Apply, doing what each refusal says, until it finishes. Each
		// advice must work as given; three rounds suffice for one row.
		opts := migrate.Options{}
		for round := 0; ; round++ {
			_, err = migrate.Apply(ctx, db, dir, 0, opts)
			if err == nil {
				break
			}
			if round == 3 {
				t.Fatalf("apply still refuses after following its advice: %v", err)
			}
			var p *migrate.Problem
			switch {
			case errors.As(err, &p):
				if round == 0 && rep.Problem == nil {
					t.Errorf("apply refused (%v) but status reported no problem:\n%s", err, sb.String())
				}
				// Run the first command the message names, as given.
				if m := setCommand.FindStringSubmatch(p.Fix); m != nil {
					if _, err := migrate.Set(ctx, db, dir, m[1], migrate.Options{}); err != nil {
						t.Fatalf("the fix %q failed: %v", m[0], err)
					}
				} else if m := deleteCommand.FindStringSubmatch(p.Fix); m != nil {
					if _, err := db.Exec(m[1]); err != nil {
						t.Fatalf("the fix %q failed: %v", m[1], err)
					}
				} else {
					t.Fatalf("a refusal without a command that fixes it: %v", err)
				}
			case strings.Contains(err.Error(), "added out of order") && strings.Contains(err.Error(), "flags=--exec-order=non-linear"):
				opts.ExecOrder = "non-linear"
			default:
				t.Fatalf("apply: %v", err)
			}
		}

		// Finished: every row done, and the Atlas CLI sees nothing to do.
		for _, rr := range readRevs(t, db, revTable) {
			if rr.Applied != rr.Total || rr.Applied < 0 {
				t.Errorf("row left unfinished: %+v", rr)
			}
		}
		if _, err := migrate.AtlasCLIPending(ctx, db, dir, ""); !errors.Is(err, amigrate.ErrNoPendingFiles) {
			t.Errorf("the Atlas CLI after apply: %v", err)
		}
		after, err := migrate.Status(ctx, db, dir, migrate.Options{})
		if err != nil || after.Status != "OK" || after.Problem != nil {
			t.Errorf("status after apply: %+v, %v", after, err)
		}
	})
}
