-- atlas:nolint
ALTER TABLE t DROP COLUMN a;
-- atlas:nolint DS103
ALTER TABLE t DROP COLUMN b;
-- atlas:nolint destructive
ALTER TABLE t DROP COLUMN c;
-- A directive for another check silences nothing here.
-- atlas:nolint MF101
ALTER TABLE t DROP COLUMN d;
-- atlas:nolint

-- (a blank line detaches a directive from the statement)
ALTER TABLE t DROP COLUMN e;
/*atlas:nolint DS102*/
DROP TABLE u;
