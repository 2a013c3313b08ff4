DROP POLICY mine ON t;
-- Re-created with another definition: a change, not a removal.
DROP POLICY changed ON t;
CREATE POLICY changed ON t FOR SELECT USING (id > 0);
ALTER TABLE u DISABLE ROW LEVEL SECURITY;
-- The table goes with its policies: DS102 says so, not RS101.
DROP TABLE gone;
