-- atlas:txmode none

SET lock_timeout = '2s';
-- Create index "t_b_idx" to table: "t"
CREATE INDEX CONCURRENTLY "t_b_idx" ON "t" ("b");
-- Validate constraint "t_b_check" on table: "t"
ALTER TABLE "t" VALIDATE CONSTRAINT "t_b_check";
-- Validate constraint "t_owner_fkey" on table: "t"
ALTER TABLE "t" VALIDATE CONSTRAINT "t_owner_fkey";
-- Set column "a" of table: "t" NOT NULL through a validated check
ALTER TABLE "t" ADD CONSTRAINT "t_a_nn_check" CHECK ("a" IS NOT NULL) NOT VALID;
ALTER TABLE "t" VALIDATE CONSTRAINT "t_a_nn_check";
ALTER TABLE "t" ALTER COLUMN "a" SET NOT NULL;
ALTER TABLE "t" DROP CONSTRAINT "t_a_nn_check";
-- Create index "t_c_key" to table: "t"
CREATE UNIQUE INDEX CONCURRENTLY "t_c_key" ON "t" ("c");
