CREATE TABLE p (id int PRIMARY KEY);
CREATE TABLE t (id int, p_id int, n int, m int);
