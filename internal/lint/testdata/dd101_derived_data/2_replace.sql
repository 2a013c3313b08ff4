-- The generated column, its index and the check keep old results.
CREATE OR REPLACE FUNCTION norm(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT upper(t) $$;
CREATE OR REPLACE FUNCTION ok(n int) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT n >= 0 $$;
-- Its index is rebuilt; its materialized view is not.
CREATE OR REPLACE FUNCTION total(n int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT n * 3 $$;
REINDEX INDEX t_total;
