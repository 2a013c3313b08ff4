-- atlas:txmode none

CREATE INDEX CONCURRENTLY t_id ON t (id);
