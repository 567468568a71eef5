-- PostgreSQL side: cohorts and memberships (source of truth, replicated to ClickHouse by the job),
-- per-company feature flags (read by the gateway) and the event history used for backfills.

CREATE TABLE IF NOT EXISTS cohorts (
    id          bigserial PRIMARY KEY,
    company_id  text        NOT NULL,
    name        text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz,
    CONSTRAINT cohorts_company_name UNIQUE (company_id, name)
);
CREATE INDEX IF NOT EXISTS cohorts_updated_at ON cohorts (updated_at);

-- Membership history: one row per stint; the open stint has left_at NULL (at most one per user and cohort).
CREATE TABLE IF NOT EXISTS user_cohorts (
    cohort_id  bigint      NOT NULL REFERENCES cohorts (id),
    company_id text        NOT NULL,
    user_id    text        NOT NULL,
    joined_at  timestamptz NOT NULL DEFAULT now(),
    left_at    timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cohort_id, user_id, joined_at)
);
CREATE UNIQUE INDEX IF NOT EXISTS user_cohorts_one_open ON user_cohorts (cohort_id, user_id) WHERE left_at IS NULL;
CREATE INDEX IF NOT EXISTS user_cohorts_updated_at ON user_cohorts (updated_at);

CREATE TABLE IF NOT EXISTS feature_flags (
    company_id text        NOT NULL,
    flag       text        NOT NULL,
    enabled    boolean     NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id, flag)
);

-- Every event as published, for backfills and replays into NATS. payload is the raw JSON text, byte-exact.
CREATE TABLE IF NOT EXISTS event_log (
    id          bigserial PRIMARY KEY,
    event_id    text        NOT NULL UNIQUE,
    subject     text        NOT NULL,
    company_id  text        NOT NULL,
    occurred_at timestamptz NOT NULL,
    payload     text        NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS event_log_occurred_at ON event_log (occurred_at);
CREATE INDEX IF NOT EXISTS event_log_company ON event_log (company_id, occurred_at);
