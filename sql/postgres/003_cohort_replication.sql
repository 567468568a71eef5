-- Cohort replication (job/.../cohort, docs/pipeline.md "Cohort replication"): the job copies cohorts and user_cohorts
-- to ClickHouse incrementally on updated_at, and ClickHouse keeps the row with the highest version = updated_at in
-- epoch millis. Both only work if updated_at is owned by the database, so these triggers set it on every write,
-- whatever the writer put there:
--   * never earlier than the writing transaction's start (now()): the job's watermark relies on "a row not yet
--     committed carries updated_at >= the start of its transaction" (a client-supplied old timestamp would be missed);
--   * strictly increasing per ClickHouse row, by at least 1 ms: a transaction that started earlier but writes after
--     a later one (now() is the transaction START time) would otherwise give the newer state a lower version, and
--     ClickHouse would keep the stale one. For user_cohorts the ClickHouse row is the (cohort, user) pair, which holds
--     every stint of the membership history, so the bump is over all stints of the pair; the stints are locked
--     (FOR UPDATE) so a concurrent writer's version is seen, not just the last committed one.
-- Hard DELETEs are not replicated: cohorts are soft-deleted (deleted_at), memberships end with left_at.

CREATE OR REPLACE FUNCTION csr_cohorts_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := greatest(now(), OLD.updated_at + interval '1 millisecond');
    ELSE
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS cohorts_touch ON cohorts;
CREATE TRIGGER cohorts_touch BEFORE INSERT OR UPDATE ON cohorts
    FOR EACH ROW EXECUTE FUNCTION csr_cohorts_touch();

-- SET search_path FROM CURRENT pins the table to the schema this migration runs in, whatever the writer's search_path,
-- and keeps the lookup a plain statement with a cached plan (a schema-qualified EXECUTE format(...) per row was slower).
-- Cost for a bulk load, 100k memberships in one statement on the busy 2-core test machine: INSERT 3.3 s (1.3 s without
-- triggers), UPDATE of all of them (leave) 2.3 s (1.1 s without).
CREATE OR REPLACE FUNCTION csr_user_cohorts_touch() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    latest timestamptz;
BEGIN
    SELECT max(s.updated_at) INTO latest
      FROM (SELECT u.updated_at FROM user_cohorts u
             WHERE u.cohort_id = NEW.cohort_id AND u.user_id = NEW.user_id FOR UPDATE) s;
    NEW.updated_at := greatest(now(), latest + interval '1 millisecond');
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS user_cohorts_touch ON user_cohorts;
CREATE TRIGGER user_cohorts_touch BEFORE INSERT OR UPDATE ON user_cohorts
    FOR EACH ROW EXECUTE FUNCTION csr_user_cohorts_touch();
