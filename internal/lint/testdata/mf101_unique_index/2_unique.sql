CREATE UNIQUE INDEX t_email ON t (email);
-- On a column added in the same file there is nothing to collide.
ALTER TABLE t ADD COLUMN code text;
CREATE UNIQUE INDEX t_code ON t (code);
