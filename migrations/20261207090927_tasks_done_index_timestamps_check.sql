SET lock_timeout = '500ms';
-- Modify "tasks" table
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_timestamps_check" CHECK ((created_at >= '0001-01-01 00:00:00+00'::timestamp with time zone) AND (created_at < '10000-01-01 00:00:00+00'::timestamp with time zone) AND (updated_at >= '0001-01-01 00:00:00+00'::timestamp with time zone) AND (updated_at < '10000-01-01 00:00:00+00'::timestamp with time zone)) NOT VALID;
