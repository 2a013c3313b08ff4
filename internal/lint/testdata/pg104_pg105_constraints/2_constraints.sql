SET lock_timeout = '500ms';
ALTER TABLE t ADD CONSTRAINT t_pkey PRIMARY KEY (id);
ALTER TABLE t ADD CONSTRAINT t_v_key UNIQUE (v);
-- Through a unique index built (concurrently) before: fine.
ALTER TABLE t ADD CONSTRAINT t_w_key UNIQUE USING INDEX t_w;
