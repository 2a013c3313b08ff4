SET lock_timeout = '500ms';
-- Modify "set_updated_at" function
CREATE OR REPLACE FUNCTION "set_updated_at" () RETURNS trigger LANGUAGE plpgsql AS $$
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
