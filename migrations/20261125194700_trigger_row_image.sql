-- Modify "set_updated_at" function
CREATE OR REPLACE FUNCTION "set_updated_at" () RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.created_at := OLD.created_at;
  NEW.updated_at := OLD.updated_at;
  IF NEW *= OLD THEN
    RETURN NEW;
  END IF;
  NEW.updated_at := greatest(now(), OLD.updated_at + interval '1 microsecond');
  RETURN NEW;
END;
$$;
