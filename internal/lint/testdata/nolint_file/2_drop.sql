-- atlas:nolint

ALTER TABLE t DROP COLUMN a;
