SET lock_timeout = '500ms';
-- Binary-coercible: no rewrite.
ALTER TABLE t ALTER COLUMN name TYPE varchar(20);
ALTER TABLE t ALTER COLUMN name TYPE text;
-- int to bigint rewrites every row.
ALTER TABLE t ALTER COLUMN n TYPE bigint;
