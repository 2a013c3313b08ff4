package catalog

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// atlasSerial is the column default Atlas's inspector reads as a serial
// column (its own pattern): such a sequence is part of Atlas's column.
var atlasSerial = regexp.MustCompile(`(?i) *nextval\('(?:"?[\w$]+"?\.)?"?([\w$]+_[\w$]+_seq)"?'(?:::regclass)*\) *$`)

// sequence is what a sequence's Alter compares. The current value is
// data, not schema: it is never read.
type sequence struct {
	typ                         string
	start, inc, min, max, cache int64
	cycle                       bool
}

// inspectSequences adds the standalone sequences of the managed schemas:
// not those of identity columns, nor those Atlas reads as a serial
// column. A sequence's OWNED BY is an object of its own (KindSequenceOwner)
// because it needs the column while the column's default needs the
// sequence: one object holding both would be a cycle.
func inspectSequences(ctx context.Context, q Querier, m *Model) error {
	rows, err := q.QueryContext(ctx, `
SELECT n.nspname, c.relname, c.oid, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
       s.seqcache, s.seqcycle,
       coalesce(o.nspname, ''), coalesce(o.relname, ''), coalesce(o.attname, ''),
       EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'i'),
       coalesce((SELECT array_agg(pg_get_expr(ad.adbin, ad.adrelid))
                 FROM pg_depend d
                 JOIN pg_attrdef ad ON ad.oid = d.objid
                 JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
                 WHERE d.classid = 'pg_attrdef'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid
                   AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)), '{}')
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_sequence s ON s.seqrelid = c.oid
LEFT JOIN LATERAL (
  SELECT tn.nspname, tc.relname, a.attname FROM pg_depend d
  JOIN pg_class tc ON tc.oid = d.refobjid
  JOIN pg_namespace tn ON tn.oid = tc.relnamespace
  JOIN pg_attribute a ON a.attrelid = tc.oid AND a.attnum = d.refobjsubid
  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass
    AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
) o ON true
WHERE n.nspname = ANY($1) AND c.relkind = 'S' AND `+fmt.Sprintf(extOwned, "pg_class", "c.oid")+`
ORDER BY 1, 2`, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: sequences: %w", err)
	}
	defer rows.Close()
	var serials []serialSeq
	for rows.Next() {
		var (
			schema, name, oschema, otable, ocol string
			oid                                 uint32
			s                                   sequence
			identity                            bool
			defaults                            []string
		)
		if err := rows.Scan(&schema, &name, &oid, &s.typ, &s.start, &s.inc, &s.min, &s.max, &s.cache, &s.cycle,
			&oschema, &otable, &ocol, &identity, pqArrayOut(&defaults)); err != nil {
			return fmt.Errorf("catalog: sequences: %w", err)
		}
		if !identity && otable != "" && serial(name, defaults) {
			serials = append(serials, serialSeq{schema, name, ID(KindColumn, oschema, otable, ocol), s})
		}
		if identity || serial(name, defaults) {
			if otable != "" {
				// Its privileges and comment are set apart from the
				// column, after it, and go with it.
				m.owned[oid] = &Object{ID: ID(KindSequence, schema, name), Kind: KindSequence, Schema: schema, Name: name,
					Deps: []Dep{{ID: ID(KindColumn, oschema, otable, ocol), Auto: true}}}
			}
			continue
		}
		qname := m.Qualify(schema, name)
		o := &Object{
			ID:     ID(KindSequence, schema, name),
			Kind:   KindSequence,
			Schema: schema,
			Name:   name,
			Def:    s.compared(),
			Create: []string{strings.TrimSpace("CREATE SEQUENCE " + qname + " " + strings.Join(s.clauses(nil), " "))},
			Drop:   []string{"DROP SEQUENCE " + qname},
			Addr:   Addr{"pg_class", oid, 0},
			seq:    &s,
		}
		ss := s
		o.Alter = func(from *Object) ([]string, bool) {
			if from.seq == nil {
				return nil, false
			}
			c := ss.clauses(from.seq)
			if len(c) == 0 {
				return nil, true
			}
			return []string{"ALTER SEQUENCE " + qname + " " + strings.Join(c, " ")}, true
		}
		if err := m.Add(o); err != nil {
			return err
		}
		if otable == "" {
			continue
		}
		owned := "ALTER SEQUENCE " + qname + " OWNED BY " + m.Qualify(oschema, otable) + "." + QuoteIdent(ocol)
		if err := m.Add(&Object{
			ID:     AttrID(KindSequenceOwner, o.ID),
			Kind:   KindSequenceOwner,
			Schema: schema,
			Name:   name,
			Def:    oschema + "." + otable + "." + ocol,
			Create: []string{owned},
			Drop:   []string{"ALTER SEQUENCE " + qname + " OWNED BY NONE"},
			Alter:  func(*Object) ([]string, bool) { return []string{owned}, true },
			// Not Auto on the column: a changed owner is released before
			// the old column goes, or the sequence would go with it.
			Deps: []Dep{{ID: o.ID, Auto: true}, {ID: ID(KindColumn, oschema, otable, ocol)}},
		}); err != nil {
			return err
		}
	}
	m.serials = serials
	return rows.Err()
}

// serialSeq is the sequence of a column Atlas reads as serial.
type serialSeq struct {
	schema, name string
	column       ObjectID
	seq          sequence
}

// inspectSerials adds the parameters of serial columns' sequences, read
// by inspectSequences, as an attribute of the column. Atlas's serial column creates its sequence
// with PostgreSQL's defaults for its type; this object sets what differs
// from them (ALTER SEQUENCE … MAXVALUE, CYCLE, CACHE …) and alters it in
// place later, never with RESTART: the current value is data.
func inspectSerials(_ context.Context, _ Querier, m *Model) error {
	var add []*Object
	for _, sr := range m.serials {
		parent := m.Objects[sr.column]
		if parent == nil {
			continue
		}
		s := sr.seq
		_, hi := s.bounds()
		atlas := sequence{typ: s.typ, start: 1, inc: 1, min: 1, max: hi, cache: 1}
		qname := m.Qualify(sr.schema, sr.name)
		alter := func(from *sequence) []string {
			if c := s.clauses(from); len(c) > 0 {
				return []string{"ALTER SEQUENCE " + qname + " " + strings.Join(c, " ")}
			}
			return nil
		}
		o := m.attr(KindSerial, parent, s.compared(), alter(&atlas), nil)
		o.Alter = func(from *Object) ([]string, bool) {
			if from.seq == nil {
				return nil, false
			}
			return alter(from.seq), true
		}
		o.seq = &s
		add = append(add, o)
	}
	return m.addAll(add)
}

// serial reports whether Atlas reads a column default of the sequence as
// a serial column.
func serial(name string, defaults []string) bool {
	for _, d := range defaults {
		if m := atlasSerial.FindStringSubmatch(d); m != nil && m[1] == name {
			return true
		}
	}
	return false
}

func (s *sequence) compared() string {
	return fmt.Sprintf("as %s\nstart %d\nincrement %d\nminvalue %d\nmaxvalue %d\ncache %d\ncycle %t",
		s.typ, s.start, s.inc, s.min, s.max, s.cache, s.cycle)
}

// bounds are the limits of a sequence's type.
func (s *sequence) bounds() (int64, int64) {
	switch s.typ {
	case "smallint":
		return -32768, 32767
	case "integer":
		return -2147483648, 2147483647
	}
	return -9223372036854775808, 9223372036854775807
}

// clauses renders the sequence's parameters: against from (nil for
// CREATE, where PostgreSQL's defaults are left out) only those that
// differ. A new type restates the bounds, because ALTER SEQUENCE … AS
// moves only bounds that were the old type's defaults.
func (s *sequence) clauses(from *sequence) []string {
	lo, hi := s.bounds()
	defMin, defMax := int64(1), hi
	if s.inc < 0 {
		defMin, defMax = lo, -1
	}
	defStart := s.min // PostgreSQL starts at the bound the sequence moves away from
	if s.inc < 0 {
		defStart = s.max
	}
	type clause struct {
		sql       string
		isDefault bool
		changed   bool
	}
	typeChanged := from != nil && from.typ != s.typ
	cl := []clause{
		{"AS " + s.typ, s.typ == "bigint", from != nil && typeChanged},
		{"START WITH " + strconv.FormatInt(s.start, 10), s.start == defStart, from != nil && from.start != s.start},
		{"INCREMENT BY " + strconv.FormatInt(s.inc, 10), s.inc == 1, from != nil && from.inc != s.inc},
		{"MINVALUE " + strconv.FormatInt(s.min, 10), s.min == defMin, from != nil && (typeChanged || from.min != s.min)},
		{"MAXVALUE " + strconv.FormatInt(s.max, 10), s.max == defMax, from != nil && (typeChanged || from.max != s.max)},
		{"CACHE " + strconv.FormatInt(s.cache, 10), s.cache == 1, from != nil && from.cache != s.cache},
		{map[bool]string{true: "CYCLE", false: "NO CYCLE"}[s.cycle], !s.cycle, from != nil && from.cycle != s.cycle},
	}
	var out []string
	for _, c := range cl {
		if (from == nil && !c.isDefault) || c.changed {
			out = append(out, c.sql)
		}
	}
	return out
}
