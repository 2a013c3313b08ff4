SET lock_timeout = '2s';
-- Modify "t" table
-- hazard: rewrites table "t" under ACCESS EXCLUSIVE (column "b" type change)
ALTER TABLE "t" ADD CONSTRAINT "t_b_check" CHECK (b > 0) NOT VALID, ALTER COLUMN "b" TYPE bigint, ADD COLUMN "owner" integer NULL, ADD CONSTRAINT "t_owner_fkey" FOREIGN KEY ("owner") REFERENCES "owners" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION NOT VALID;
