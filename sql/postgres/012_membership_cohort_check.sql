-- "A membership's cohort exists" without a per-row foreign-key check for the rule cohorts' bulk write (issue 19: the
-- first recompute pass writes about 9.4M memberships, and 001's foreign key ran one lookup of the cohort row per
-- inserted row, about a third of the INSERT). The rule stays the foreign key's, enforced in two places instead:
--   * every writer that is stamped by csr_user_cohorts_touch (011's setting not 'on') is checked per row here, with the
--     foreign key's lock (FOR KEY SHARE of the cohort row, so the cohort cannot be deleted before it commits);
--   * a writer that says SET LOCAL csr.memberships_touched = 'on' already holds the cohort row FOR UPDATE, found live,
--     before it writes (011; gateway/.../cohort/rule/RuleCohorts), which is the same check, once per cohort.
-- A cohort with memberships cannot be deleted (cohorts are soft-deleted: deleted_at) nor get another id.
ALTER TABLE user_cohorts DROP CONSTRAINT IF EXISTS user_cohorts_cohort_id_fkey;

CREATE OR REPLACE FUNCTION csr_user_cohorts_cohort_exists() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM 1 FROM cohorts c WHERE c.id = NEW.cohort_id FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = format('user_cohorts.cohort_id %s: no such cohort', NEW.cohort_id);
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS user_cohorts_cohort_exists ON user_cohorts;
CREATE TRIGGER user_cohorts_cohort_exists BEFORE INSERT OR UPDATE OF cohort_id ON user_cohorts
    FOR EACH ROW WHEN (current_setting('csr.memberships_touched', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION csr_user_cohorts_cohort_exists();

CREATE OR REPLACE FUNCTION csr_cohorts_keep_memberships() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
        RETURN NEW;
    END IF;
    IF EXISTS (SELECT 1 FROM user_cohorts u WHERE u.cohort_id = OLD.id) THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = format('cohort %s has memberships: set deleted_at instead', OLD.id);
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;

DROP TRIGGER IF EXISTS cohorts_keep_memberships ON cohorts;
CREATE TRIGGER cohorts_keep_memberships BEFORE DELETE OR UPDATE OF id ON cohorts
    FOR EACH ROW EXECUTE FUNCTION csr_cohorts_keep_memberships();
