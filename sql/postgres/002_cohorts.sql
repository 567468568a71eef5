-- Cohort management (gateway/.../cohort): audit log of cohort queries and membership changes, live-name uniqueness,
-- and the bulk-load path (\copy into cohort_member_staging, then one call of cohort_bulk_load) for large cohorts.

-- Who asked or changed what, per company; read by that company's admins through GET /cohorts/audit.
CREATE TABLE IF NOT EXISTS cohort_audit_log (
    id         bigserial   PRIMARY KEY,
    at         timestamptz NOT NULL,
    company_id text        NOT NULL,
    subject    text        NOT NULL,   -- the token's sub
    cohort_id  bigint,                 -- NULL for company-wide calls (top, list, create before it exists)
    method     text        NOT NULL,
    endpoint   text        NOT NULL,   -- route pattern, e.g. /cohort/{id}/metrics
    status     integer     NOT NULL,
    detail     text        NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS cohort_audit_log_company_at ON cohort_audit_log (company_id, at DESC, id DESC);

-- A soft-deleted cohort keeps its row; its name may be used again by a new cohort of the same company.
ALTER TABLE cohorts DROP CONSTRAINT IF EXISTS cohorts_company_name;
CREATE UNIQUE INDEX IF NOT EXISTS cohorts_company_live_name ON cohorts (company_id, name) WHERE deleted_at IS NULL;

-- Bulk loads: \copy cohort_member_staging (load_id, user_id) FROM 'members.csv' WITH (FORMAT csv)
-- then SELECT * FROM cohort_bulk_load(<cohort id>, '<load id>', <replace>).
CREATE UNLOGGED TABLE IF NOT EXISTS cohort_member_staging (
    load_id text NOT NULL,
    user_id text NOT NULL
);
CREATE INDEX IF NOT EXISTS cohort_member_staging_load ON cohort_member_staging (load_id, user_id);

-- Adds every staged user that is not a member now (a new membership stint, history kept); with p_replace also ends the
-- membership of current members missing from the load. Runs in the caller's transaction, locks the cohort row (as the
-- gateway's PUT /cohorts/{id}/members does), removes the load's staging rows and returns the counts.
CREATE OR REPLACE FUNCTION cohort_bulk_load(p_cohort_id bigint, p_load_id text, p_replace boolean DEFAULT false)
RETURNS TABLE (added bigint, removed bigint, members bigint) LANGUAGE plpgsql AS $$
DECLARE
    v_company text;
    v_now     timestamptz := clock_timestamp();
    v_bad     text;
BEGIN
    SELECT c.company_id INTO v_company FROM cohorts c WHERE c.id = p_cohort_id AND c.deleted_at IS NULL FOR UPDATE;
    IF v_company IS NULL THEN
        RAISE EXCEPTION 'cohort % does not exist or is deleted; create it with POST /cohorts first', p_cohort_id;
    END IF;
    SELECT s.user_id INTO v_bad FROM cohort_member_staging s
     WHERE s.load_id = p_load_id AND (length(s.user_id) NOT BETWEEN 1 AND 128 OR s.user_id ~ '[[:cntrl:]]') LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'load % has an invalid user id (1-128 characters, no control characters): %', p_load_id, left(v_bad, 140);
    END IF;
    WITH staged AS (SELECT DISTINCT s.user_id FROM cohort_member_staging s WHERE s.load_id = p_load_id),
         ins AS (
             INSERT INTO user_cohorts (cohort_id, company_id, user_id, joined_at, updated_at)
             SELECT p_cohort_id, v_company, st.user_id, v_now, v_now FROM staged st
              WHERE NOT EXISTS (SELECT 1 FROM user_cohorts uc
                                 WHERE uc.cohort_id = p_cohort_id AND uc.user_id = st.user_id AND uc.left_at IS NULL)
             RETURNING 1)
    SELECT count(*) INTO added FROM ins;
    removed := 0;
    IF p_replace THEN
        UPDATE user_cohorts uc SET left_at = v_now, updated_at = v_now
         WHERE uc.cohort_id = p_cohort_id AND uc.left_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM cohort_member_staging s WHERE s.load_id = p_load_id AND s.user_id = uc.user_id);
        GET DIAGNOSTICS removed = ROW_COUNT;
    END IF;
    DELETE FROM cohort_member_staging s WHERE s.load_id = p_load_id;
    SELECT count(*) INTO members FROM user_cohorts uc WHERE uc.cohort_id = p_cohort_id AND uc.left_at IS NULL;
    RETURN NEXT;
END
$$;
