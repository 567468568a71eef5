-- Rule cohorts (DESIGN.md Contract 4, docs/analytics.md "Rule cohorts"): a cohort is static (rule NULL, members PUT by
-- hand or bulk-loaded) or defined by a rule, a JSON filter the gateway validated before storing it. The gateway keeps a
-- rule cohort's membership current as ordinary membership stints in user_cohorts, so replication and every read path
-- treat both kinds alike. A recompute that changes nothing writes nothing (not even cohorts.updated_at), so an
-- unchanged rule cohort costs the job's replication nothing.
ALTER TABLE cohorts ADD COLUMN IF NOT EXISTS rule jsonb;
CREATE INDEX IF NOT EXISTS cohorts_rule_live ON cohorts (company_id) WHERE rule IS NOT NULL AND deleted_at IS NULL;
