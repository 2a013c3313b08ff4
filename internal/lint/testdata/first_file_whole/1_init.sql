-- A first file longer than ten statements is executed whole and diffed once,
-- as the Atlas CLI does for a baseline: findings point at its start.
CREATE TABLE t0 (id int);
CREATE TABLE t1 (id int);
CREATE TABLE t2 (id int);
CREATE TABLE t3 (id int);
CREATE TABLE t4 (id int);
CREATE TABLE t5 (id int, updated_at timestamptz);
CREATE TABLE t6 (id int);
CREATE TABLE t7 (id int);
CREATE TABLE t8 (id int);
CREATE TABLE t9 (id int);
CREATE TABLE t10 (id int);
DROP TABLE t0;
