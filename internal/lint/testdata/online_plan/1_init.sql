CREATE TABLE owners (id integer PRIMARY KEY);
CREATE TABLE t (id integer PRIMARY KEY, a integer, b integer, c text);
