SET lock_timeout = '500ms';
-- id is nullable: the key sets it NOT NULL with a scan.
ALTER TABLE t ADD CONSTRAINT t_pkey PRIMARY KEY USING INDEX t_id;
-- Proved by a validated check first: no scan.
ALTER TABLE u ADD CONSTRAINT u_id_nn CHECK (id IS NOT NULL) NOT VALID;
ALTER TABLE u VALIDATE CONSTRAINT u_id_nn;
ALTER TABLE u ADD CONSTRAINT u_pkey PRIMARY KEY USING INDEX u_id;
