DROP TABLE t;
-- A table created and dropped in the same file destroys nothing.
CREATE TABLE tmp (id int);
DROP TABLE tmp;
