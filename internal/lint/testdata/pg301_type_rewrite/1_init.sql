CREATE TABLE t (id int, name varchar(10), n int);
