CREATE TABLE t (id int, v text, w text);
CREATE UNIQUE INDEX t_w ON t (w);
