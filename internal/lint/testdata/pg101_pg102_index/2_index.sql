SET lock_timeout = '500ms';
CREATE INDEX t_id ON t (id);
DROP INDEX t_v;
-- A table created in the same file needs no CONCURRENTLY.
CREATE TABLE u (id int);
CREATE INDEX u_id ON u (id);
