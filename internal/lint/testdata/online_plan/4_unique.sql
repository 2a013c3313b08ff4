SET lock_timeout = '2s';
-- Modify "t" table
ALTER TABLE "t" ADD CONSTRAINT "t_c_key" UNIQUE USING INDEX "t_c_key";
