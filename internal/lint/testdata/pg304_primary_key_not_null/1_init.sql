CREATE TABLE t (id int, a int);
CREATE UNIQUE INDEX t_id ON t (id);
CREATE TABLE u (id int, a int);
CREATE UNIQUE INDEX u_id ON u (id);
