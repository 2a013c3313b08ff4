CREATE TABLE t (id int, a int, b int, c int, d int, e int);
CREATE TABLE u (id int);
