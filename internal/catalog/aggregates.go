package catalog

import (
	"context"
	"fmt"
	"strings"
)

// inspectAggregates adds the plain aggregates of the managed schemas
// (CREATE AGGREGATE name (args) (SFUNC = …, STYPE = …, …)), the clauses
// rendered from pg_aggregate with PostgreSQL's defaults left out.
// Ordered-set and hypothetical-set aggregates are not read: the
// unclaimed check refuses them by name.
func inspectAggregates(ctx context.Context, q Querier, m *Model) error {
	rows, err := q.QueryContext(ctx, `
SELECT n.nspname, p.proname, p.oid, pg_get_function_identity_arguments(p.oid), pg_get_function_arguments(p.oid),
       pg_get_function_result(p.oid),
       array_remove(ARRAY[
         'SFUNC = ' || a.aggtransfn::regproc::text,
         'STYPE = ' || format_type(a.aggtranstype, NULL),
         CASE WHEN a.aggtransspace <> 0 THEN 'SSPACE = ' || a.aggtransspace END,
         CASE WHEN a.aggfinalfn <> 0 THEN 'FINALFUNC = ' || a.aggfinalfn::regproc::text END,
         CASE WHEN a.aggfinalextra THEN 'FINALFUNC_EXTRA' END,
         CASE a.aggfinalmodify WHEN 's' THEN 'FINALFUNC_MODIFY = SHAREABLE' WHEN 'w' THEN 'FINALFUNC_MODIFY = READ_WRITE' END,
         CASE WHEN a.aggcombinefn <> 0 THEN 'COMBINEFUNC = ' || a.aggcombinefn::regproc::text END,
         CASE WHEN a.aggserialfn <> 0 THEN 'SERIALFUNC = ' || a.aggserialfn::regproc::text END,
         CASE WHEN a.aggdeserialfn <> 0 THEN 'DESERIALFUNC = ' || a.aggdeserialfn::regproc::text END,
         CASE WHEN a.agginitval IS NOT NULL THEN 'INITCOND = ' || quote_literal(a.agginitval) END,
         CASE WHEN a.aggmtransfn <> 0 THEN 'MSFUNC = ' || a.aggmtransfn::regproc::text END,
         CASE WHEN a.aggminvtransfn <> 0 THEN 'MINVFUNC = ' || a.aggminvtransfn::regproc::text END,
         CASE WHEN a.aggmtranstype <> 0 THEN 'MSTYPE = ' || format_type(a.aggmtranstype, NULL) END,
         CASE WHEN a.aggmtransspace <> 0 THEN 'MSSPACE = ' || a.aggmtransspace END,
         CASE WHEN a.aggmfinalfn <> 0 THEN 'MFINALFUNC = ' || a.aggmfinalfn::regproc::text END,
         CASE WHEN a.aggmfinalextra THEN 'MFINALFUNC_EXTRA' END,
         CASE WHEN a.aggmtransfn <> 0 THEN CASE a.aggmfinalmodify WHEN 's' THEN 'MFINALFUNC_MODIFY = SHAREABLE'
                                                                 WHEN 'w' THEN 'MFINALFUNC_MODIFY = READ_WRITE' END END,
         CASE WHEN a.aggminitval IS NOT NULL THEN 'MINITCOND = ' || quote_literal(a.aggminitval) END,
         CASE WHEN a.aggsortop <> 0 THEN 'SORTOP = OPERATOR(' || a.aggsortop::regoper::text || ')' END,
         CASE p.proparallel WHEN 's' THEN 'PARALLEL = SAFE' WHEN 'r' THEN 'PARALLEL = RESTRICTED' END
       ], NULL)
FROM pg_proc p
JOIN pg_aggregate a ON a.aggfnoid = p.oid
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = ANY($1) AND a.aggkind = 'n' AND `+fmt.Sprintf(extOwned, "pg_proc", "p.oid")+`
ORDER BY 1, 2, 4`, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: aggregates: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			schema, name, args, argsDecl, result string
			oid                                  uint32
			opts                                 []string
		)
		if err := rows.Scan(&schema, &name, &oid, &args, &argsDecl, &result, pqArrayOut(&opts)); err != nil {
			return fmt.Errorf("catalog: aggregates: %w", err)
		}
		qname := m.Qualify(schema, name)
		if argsDecl == "" {
			argsDecl = "*"
		}
		create := "CREATE AGGREGATE " + qname + " (" + argsDecl + ") (" + strings.Join(opts, ", ") + ")"
		o := &Object{
			ID:     RoutineID(KindAggregate, schema, name, args),
			Kind:   KindAggregate,
			Schema: schema,
			Name:   name,
			Def:    argsDecl + "\n" + result + "\n" + strings.Join(opts, ",\n"),
			Create: []string{create},
			Drop:   []string{"DROP AGGREGATE " + qname + " (" + argsDecl + ")"},
			Addr:   Addr{"pg_proc", oid, 0},
		}
		o.Alter = func(from *Object) ([]string, bool) {
			// CREATE OR REPLACE AGGREGATE keeps the arguments and the
			// result type; anything else is a new aggregate.
			fargs, rest, _ := strings.Cut(from.Def, "\n")
			fresult, _, _ := strings.Cut(rest, "\n")
			if fargs != argsDecl || fresult != result {
				return nil, false
			}
			return []string{strings.Replace(create, "CREATE AGGREGATE", "CREATE OR REPLACE AGGREGATE", 1)}, true
		}
		if err := m.Add(o); err != nil {
			return err
		}
	}
	return rows.Err()
}
