SET lock_timeout TO '1s';
ALTER TABLE t ADD COLUMN d int;
