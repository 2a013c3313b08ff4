-- Run once by the postgres image when it initializes its data directory
-- (docker-entrypoint-initdb.d), before `migrate apply` creates anything.
--
-- The API gets a role of its own: it reads and writes rows and may not
-- change the schema, and its timeouts live on the role, because a
-- transaction pooler passes no session settings at connect. They are
-- the values the API sends itself on a direct connection for its default
-- REQUEST_TIMEOUT of 5s: statement_timeout 4/5 of it, lock_timeout half.
CREATE ROLE tasks_api LOGIN PASSWORD 'apipass';
ALTER ROLE tasks_api SET statement_timeout = '4s';
ALTER ROLE tasks_api SET lock_timeout = '2500ms';

-- What migrate creates later as postgres: the tables, the identity
-- sequence a keyed create draws ids from, and the schema of the revision
-- table the API reads for /readyz.
ALTER DEFAULT PRIVILEGES FOR ROLE postgres GRANT USAGE ON SCHEMAS TO tasks_api;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO tasks_api;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres GRANT USAGE, SELECT ON SEQUENCES TO tasks_api;
