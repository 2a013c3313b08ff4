CREATE TABLE p (id int PRIMARY KEY);
CREATE TABLE c (id int, p_id int CONSTRAINT c_p_fk REFERENCES p (id));
