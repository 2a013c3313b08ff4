-- atlas:txmode none

SET lock_timeout = '500ms';
ALTER TABLE t ADD COLUMN note text;
CREATE INDEX CONCURRENTLY t_note ON t (note);
