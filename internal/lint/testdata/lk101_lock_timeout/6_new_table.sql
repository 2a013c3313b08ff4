-- A table created in the file is nobody else's yet.
CREATE TABLE u (id int);
ALTER TABLE u ADD COLUMN x int;
