ALTER TABLE t ADD COLUMN note text;
CREATE INDEX t_note ON t (note);
