CREATE TABLE t (id int);
CREATE TABLE scratch (id int);
