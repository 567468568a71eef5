-- Rule cohorts write memberships in bulk (issue 19: the first recompute pass of 200 rule cohorts wrote 9.41M
-- memberships, and csr_user_cohorts_touch, a PL/pgSQL lookup of the pair's stints FOR UPDATE per row, was most of
-- each row's cost). A writer that stamps updated_at itself, set-wise and by the same rule (greatest(now(), the pair's
-- latest updated_at + 1 ms)) while it holds the cohort row FOR UPDATE, says so for its own transaction with
--   SET LOCAL csr.memberships_touched = 'on'
-- and the trigger is skipped for its rows (gateway/.../cohort/rule/RuleCohorts). Every other writer is stamped by the
-- trigger as before: an unset (NULL) or reset ('') setting is not 'on'.
DROP TRIGGER IF EXISTS user_cohorts_touch ON user_cohorts;
CREATE TRIGGER user_cohorts_touch BEFORE INSERT OR UPDATE ON user_cohorts
    FOR EACH ROW WHEN (current_setting('csr.memberships_touched', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION csr_user_cohorts_touch();
