-- atlas:txmode none

SET lock_timeout = '500ms';
-- Validate constraint "tasks_timestamps_check" on table: "tasks"
ALTER TABLE "tasks" VALIDATE CONSTRAINT "tasks_timestamps_check";
