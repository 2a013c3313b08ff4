CREATE TABLE t (id int, a int);
CREATE TABLE u (id int);
