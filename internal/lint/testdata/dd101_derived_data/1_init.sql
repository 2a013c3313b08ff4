CREATE FUNCTION norm(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower(t) $$;
CREATE FUNCTION ok(n int) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT n > 0 $$;
CREATE FUNCTION total(n int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT n * 2 $$;
CREATE TABLE t (id int PRIMARY KEY, title text, n int CONSTRAINT n_ok CHECK (ok(n)),
  k text GENERATED ALWAYS AS (norm(title)) STORED);
CREATE INDEX t_norm ON t (norm(title));
CREATE INDEX t_total ON t (total(n));
CREATE MATERIALIZED VIEW totals AS SELECT total(n) AS s FROM t;
