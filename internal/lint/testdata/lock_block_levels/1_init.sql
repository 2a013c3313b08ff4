CREATE TABLE t (id int, v text, n int);
CREATE INDEX t_v ON t (v);
