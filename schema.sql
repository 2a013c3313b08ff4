-- Objects Ent cannot express, declared by hand. `migrate diff` compares this
-- file (plus the Ent schema) with what migrations/ builds and writes the
-- difference as a new migration. Keep it declarative: plain CREATE
-- statements, no data, runnable on a clean database.

-- set_updated_at keeps updated_at in the database's hands on every UPDATE,
-- whoever runs it (the API, psql, a script):
--   * an UPDATE that changes any column sets updated_at to the transaction
--     time, and never to a value at or before the row's previous one, so it
--     strictly increases per row even when transactions start out of order;
--   * an UPDATE that changes nothing leaves updated_at alone;
--   * created_at never changes, and a client-supplied updated_at is ignored.
-- "Changes nothing" is judged by `*=`, the row comparison of stored
-- bytes: it works for every column type (`IS NOT DISTINCT FROM` fails on
-- a json or point column, which has no equality operator), and a value
-- rewritten in another form (numeric 1.0 as 1.00) counts as a change.
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.created_at := OLD.created_at;
  NEW.updated_at := OLD.updated_at;
  IF NEW *= OLD THEN
    RETURN NEW;
  END IF;
  -- Past the years tasks_timestamps_check allows (a row written before
  -- it: 'infinity', 294276 AD), adding a microsecond would fail or stay
  -- put; such a row takes the transaction's time, a new value all the
  -- same, so its ETag still changes.
  IF OLD.updated_at >= '10000-01-01 00:00:00+00' THEN
    NEW.updated_at := now();
  ELSE
    NEW.updated_at := greatest(now(), OLD.updated_at + interval '1 microsecond');
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER tasks_set_updated_at
  BEFORE UPDATE ON tasks
  FOR EACH ROW
  EXECUTE FUNCTION set_updated_at();
