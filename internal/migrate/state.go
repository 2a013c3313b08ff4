package migrate

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"

	amigrate "ariga.io/atlas/sql/migrate"
	"github.com/lib/pq"
)

// The commands messages tell the user to run. The README documents the
// make targets, so every hint names those; Makefile passes --env, and
// DATABASE_URL picks the database.
const (
	cmdHash    = "make hash"
	cmdMigrate = "make migrate"
)

func cmdSet(version string) string { return "make set version=" + version }

// Problem is a revision-table state that apply refuses to continue from,
// because continuing could run a statement twice or skip one. Fix names the
// commands that resolve it.
type Problem struct {
	Version string // the revision at fault
	What    string // what is wrong, in the user's terms
	Fix     string // what to run
}

func (p *Problem) Error() string {
	return fmt.Sprintf("migrate: revision %s: %s\n%s", p.Version, p.What, p.Fix)
}

// rowKind says how a revision row is continued.
type rowKind int

const (
	// rowDone: the file is applied (applied == total, or resolved by
	// `migrate set`, or a baseline).
	rowDone rowKind = iota
	// rowFailed: a failed or interrupted attempt with no statement
	// applied. Nothing of the file is in the database (a transactional
	// failure rolled back; in autocommit mode statement 1 never committed),
	// so the row is only a record: apply forgets it and the file is pending.
	rowFailed
	// rowPartial: the first `applied` statements are in the database and
	// their hashes match the file: apply resumes after them.
	rowPartial
	// rowStaleTotal: the file ran completely, but the row kept an older
	// statement count. The Atlas CLI leaves this after rerunning a failed
	// file whose fix changed its number of statements (it keeps the row's
	// total), and its executor then panics on the row. Apply rewrites it.
	rowStaleTotal
	// rowResolvedPartial: `atlas migrate set` marked a partial row resolved
	// but left applied != total, which the Atlas executor still resumes
	// (or a baseline row with such counts). It is done; apply rewrites
	// applied to total.
	rowResolvedPartial
	// rowBad: cannot be continued safely; see the Problem.
	rowBad
)

// row is a revision as stored, with what could not be decoded.
type row struct {
	*amigrate.Revision
	// badPartial is set when partial_hashes is not a JSON array of strings
	// (a newer Atlas, or an edit by hand).
	badPartial bool
}

// verdict is the survey's judgement of one row.
type verdict struct {
	row
	kind    rowKind
	file    amigrate.File // nil when the directory has no file of this version
	stmts   int           // statements of file, when they were read
	problem *Problem
}

// survey is the revision table judged against the directory: what apply
// continues, repairs, forgets, or refuses. Atlas's executor trusts the
// table (it indexes partial_hashes by applied and the file's statements by
// applied); the survey is what keeps it from ever seeing a row it would
// panic on or misread.
type survey struct {
	rows    []verdict
	problem *Problem // the first row that cannot be continued
	table   string   // the revision table, quoted, for messages
}

// fileStmts returns the statement texts of a file, as Atlas's executor
// scans them.
type fileStmts func(amigrate.File) ([]string, error)

// surveyRows judges rows (sorted by version) against the files of a
// directory and its atlas.sum.
func surveyRows(rows []row, files []amigrate.File, stmts fileStmts, table string) *survey {
	byVersion := make(map[string]amigrate.File, len(files))
	for _, f := range files {
		byVersion[f.Version()] = f // the last one wins, as Atlas's FilesLastIndex
	}
	s := &survey{table: table}
	for i, r := range rows {
		v := verdict{row: r, file: byVersion[r.Version]}
		last := i == len(rows)-1
		s.judge(&v, last, stmts)
		s.rows = append(s.rows, v)
		if v.problem != nil && s.problem == nil {
			s.problem = v.problem
		}
	}
	// Fixes that name the previous revision need the whole list.
	for i := range s.rows {
		if p := s.rows[i].problem; p != nil {
			p.Fix = strings.ReplaceAll(p.Fix, prevPlaceholder, s.undoCommand(i))
			p.Fix = strings.ReplaceAll(p.Fix, lastPlaceholder, cmdSet(rows[len(rows)-1].Version))
		}
	}
	return s
}

// Placeholders in a Fix, filled once every row is judged.
const (
	prevPlaceholder = "\x00prev\x00"
	lastPlaceholder = "\x00last\x00"
)

func (s *survey) judge(v *verdict, last bool, stmts fileStmts) {
	r := v.Revision
	name := fileName(r.Version, r.Description)
	if v.file != nil {
		name = v.file.Name()
	}
	bad := func(what, fix string) {
		v.kind = rowBad
		v.problem = &Problem{Version: r.Version, What: what, Fix: fix}
	}
	// Fixes for a row whose progress cannot be trusted: the user knows
	// whether the file's statements are in the database.
	undecidable := "If every statement of " + name + " is in the database, mark it applied: " + cmdSet(r.Version) + "\n" +
		"If none is, remove its revision: " + prevPlaceholder + "\n" +
		"If only some are, finish or undo them by hand first, then run one of these."
	if !last {
		undecidable = "Later versions were applied after it. If every statement of " + name +
			" is in the database (finish the rest by hand otherwise), mark it applied: " + lastPlaceholder
	}
	switch {
	case r.Applied < 0 || r.Total < 0:
		bad(fmt.Sprintf("records %d of %d statements applied, which no tool writes", r.Applied, r.Total), undecidable)
	case (r.Type.Has(amigrate.RevisionTypeResolved) || r.Type.Has(amigrate.RevisionTypeBaseline)) && r.Applied != r.Total:
		// Marked applied by the user (set, baseline), whatever the counts.
		v.kind = rowResolvedPartial
	case r.Applied == r.Total:
		v.kind = rowDone
	case r.Applied == 0:
		v.kind = rowFailed
	case v.badPartial:
		bad(fmt.Sprintf("records %d statements of %s applied, but its partial_hashes cannot be read, "+
			"so which statements ran cannot be checked", r.Applied, name), undecidable)
	case v.file == nil:
		fix := "Restore " + name + " (e.g. from version control), run " + quote(cmdHash) + ", then " + quote(cmdMigrate) +
			" to finish it.\nOr undo its applied statements by hand and remove its revision: " + prevPlaceholder
		if !last {
			fix = undecidable
		}
		bad(fmt.Sprintf("%d of its statements are applied, but its migration file %s is no longer in the directory",
			r.Applied, name), fix)
	default:
		texts, err := stmts(v.file)
		if err != nil {
			bad(fmt.Sprintf("%d statements of %s are applied, but the file cannot be read: %v", r.Applied, name, err),
				"Fix "+name+" so its statements parse, run "+quote(cmdHash)+", then "+quote(cmdMigrate)+".")
			return
		}
		v.stmts = len(texts)
		if len(r.PartialHashes) < r.Applied {
			// Atlas drops partial_hashes once a file is done. A row with
			// fewer hashes than applied statements and no error is a
			// finished run whose total is stale; the file's statement count
			// confirms it.
			if r.Error == "" && r.Applied == len(texts) {
				v.kind = rowStaleTotal
				return
			}
			bad(fmt.Sprintf("records %d of %d statements applied but the hashes of only %d, so which statements ran "+
				"cannot be checked (the file now has %d)", r.Applied, r.Total, len(r.PartialHashes), len(texts)), undecidable)
			return
		}
		if n := changedStmt(texts, r.PartialHashes[:r.Applied]); n > 0 {
			what := fmt.Sprintf("statement %d of %s changed after it was applied", n, name)
			if n > len(texts) {
				what = fmt.Sprintf("%d statements of %s were applied, but the file now has only %d", r.Applied, name, len(texts))
			}
			bad(what, "Restore the applied statements of "+name+" as they were, run "+quote(cmdHash)+", then "+quote(cmdMigrate)+".\n"+
				"If the database already holds what the edited file does, mark it applied instead: "+cmdSet(r.Version))
			return
		}
		if !last {
			bad(fmt.Sprintf("only %d of %d statements of %s are applied, but later versions were applied after it",
				r.Applied, len(texts), name), undecidable)
			return
		}
		v.kind = rowPartial
	}
}

// undoCommand is the command that removes row i and keeps those before it.
func (s *survey) undoCommand(i int) string {
	for j := i - 1; j >= 0; j-- {
		if s.rows[j].kind != rowFailed {
			return cmdSet(s.rows[j].Version)
		}
	}
	// No revision stays: `migrate set` always keeps its version, so only SQL
	// removes the last one.
	return fmt.Sprintf(`psql "$DATABASE_URL" -c "DELETE FROM %s WHERE version = %s"`,
		s.table, pq.QuoteLiteral(s.rows[i].Version))
}

// changedStmt returns the 1-based number of the first applied statement
// whose running hash differs from the recorded one, or 0 when all match.
// A number past the file's statements means the file got shorter.
func changedStmt(texts, partial []string) int {
	h := sha256.New()
	for i, p := range partial {
		if i >= len(texts) {
			return i + 1
		}
		h.Write([]byte(texts[i]))
		if base64.StdEncoding.EncodeToString(h.Sum(nil)) != strings.TrimPrefix(p, "h1:") {
			return i + 1
		}
	}
	return 0
}

// effective returns the revisions as apply continues from them: failed
// attempts left out, completed rows with a stale count made whole. It must
// only be used when the survey found no problem.
func (s *survey) effective() []*amigrate.Revision {
	var revs []*amigrate.Revision
	for _, v := range s.rows {
		switch v.kind {
		case rowFailed:
			continue
		case rowStaleTotal, rowResolvedPartial:
			revs = append(revs, v.repaired())
		default:
			revs = append(revs, v.Revision)
		}
	}
	return revs
}

// repaired is the row of a finished file whose applied and total
// disagree, written so that both tools read it as done.
func (v *verdict) repaired() *amigrate.Revision {
	r := *v.Revision
	if v.kind == rowStaleTotal {
		r.Total = r.Applied
	} else {
		r.Applied = r.Total
	}
	r.PartialHashes = nil
	return &r
}

// lastFailed returns the last row when it records a failed attempt.
func (s *survey) lastFailed() *verdict {
	if n := len(s.rows); n > 0 && s.rows[n-1].kind == rowFailed {
		return &s.rows[n-1]
	}
	return nil
}

// fileName is the file a revision came from.
func fileName(version, desc string) string {
	if desc == "" {
		return version + ".sql"
	}
	return version + "_" + desc + ".sql"
}

func quote(cmd string) string { return "'" + cmd + "'" }

var plainIdent = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// shellTable names the revision table for a psql command line inside
// double quotes. Unlike SQL sent to the database, this is text a person
// reads and copies, and tests compare: a plain name stays bare, as people
// write it, and only a name that needs quotes gets them, escaped for the
// shell.
func shellTable(schema string) string {
	if !plainIdent.MatchString(schema) {
		schema = strings.ReplaceAll(pq.QuoteIdentifier(schema), `"`, `\"`)
	}
	return schema + "." + RevisionTable
}
