ALTER TABLE t ADD COLUMN n int NOT NULL;
-- With a default, existing rows get it: fine.
ALTER TABLE t ADD COLUMN d int NOT NULL DEFAULT 0;
-- A new table has no rows.
CREATE TABLE u (id int);
ALTER TABLE u ADD COLUMN n int NOT NULL;
