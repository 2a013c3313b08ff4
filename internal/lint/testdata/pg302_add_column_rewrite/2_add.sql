SET lock_timeout = '500ms';
-- A constant or stable default is stored once: no rewrite.
ALTER TABLE t ADD COLUMN a int NOT NULL DEFAULT 0;
ALTER TABLE t ADD COLUMN b timestamptz DEFAULT now();
-- Computed per row: rewrites.
ALTER TABLE t ADD COLUMN c double precision DEFAULT random();
ALTER TABLE t ADD COLUMN d int GENERATED ALWAYS AS (id * 2) STORED;
-- Another rewrite.
ALTER TABLE t SET UNLOGGED;
