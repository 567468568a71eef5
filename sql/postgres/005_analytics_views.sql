-- Contract 6: participants and the four analytics materialized views the dashboards read (docs/analytics.md).
--
-- event_log holds every event as its producer published it (payload is raw text, possibly invalid), so the views
-- never cast a payload directly: analytics_event_facts_mv parses each row once, safely, and the four served views
-- aggregate those facts. The facts view is refreshed plainly (only the refresh function reads it); the four served
-- views are refreshed CONCURRENTLY, so readers never wait and never see an empty view.

-- Who takes part in which programme and language group; one row per user and company, kept by the company's admins
-- (PUT /participants/{userId}, POST /participants:import) or by SQL. A participant who left has an outcome.
CREATE TABLE IF NOT EXISTS participants (
    company_id     text        NOT NULL,
    user_id        text        NOT NULL,
    programme      text        NOT NULL,
    language_group text,
    enrolled_on    date        NOT NULL,
    left_on        date,
    outcome        text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id, user_id),
    CONSTRAINT participants_outcome CHECK (outcome IN ('completed', 'dropped_out')),
    CONSTRAINT participants_left_has_outcome CHECK ((left_on IS NULL) = (outcome IS NULL)),
    CONSTRAINT participants_left_after_enrolled CHECK (left_on IS NULL OR left_on >= enrolled_on),
    CONSTRAINT participants_programme_not_blank CHECK (length(btrim(programme)) > 0),
    CONSTRAINT participants_language_group_not_blank CHECK (language_group IS NULL OR length(btrim(language_group)) > 0)
);
CREATE INDEX IF NOT EXISTS participants_updated_at ON participants (updated_at);

-- One row per refresh attempt of the four views (status ok or failed), for refreshedAt and /health.
CREATE TABLE IF NOT EXISTS view_refreshes (
    id                bigserial PRIMARY KEY,
    started_at        timestamptz NOT NULL,
    finished_at       timestamptz NOT NULL,
    duration_ms       bigint      NOT NULL,
    status            text        NOT NULL CHECK (status IN ('ok', 'failed')),
    trigger           text        NOT NULL,
    row_counts        jsonb       NOT NULL DEFAULT '{}',
    view_durations_ms jsonb       NOT NULL DEFAULT '{}',
    error             text
);
CREATE INDEX IF NOT EXISTS view_refreshes_status ON view_refreshes (status, id);

-- NULL instead of an error for a payload that is not JSON: one bad row must not stop every refresh.
CREATE OR REPLACE FUNCTION analytics_jsonb_or_null(t text) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN t::jsonb;
EXCEPTION WHEN others THEN
    RETURN NULL;
END;
$$;

-- Every usable event of event_log as a fact: kind metric (value; q2q.<d> becomes metric q2q_<d>) or journey
-- (value 1 = flag set, 0 = cleared). Rows whose payload is not a JSON object or whose value has the wrong type are
-- left out (the job dead-letters them too).
CREATE MATERIALIZED VIEW IF NOT EXISTS analytics_event_facts_mv AS
SELECT company_id, user_id, occurred_at, kind, name, value
FROM (
    SELECT e.company_id,
           b ->> 'userId' AS user_id,
           e.occurred_at,
           CASE WHEN e.subject LIKE 'journey.%' THEN 'journey' ELSE 'metric' END AS kind,
           CASE WHEN e.subject LIKE 'q2q.%' THEN 'q2q_' || substr(e.subject, 5) ELSE substr(e.subject, 9) END AS name,
           CASE
               WHEN e.subject LIKE 'metrics.%' AND jsonb_typeof(b -> 'value') = 'number'
                    AND abs((b ->> 'value')::numeric) < 1e300 THEN (b ->> 'value')::float8
               WHEN e.subject LIKE 'q2q.%' AND jsonb_typeof(b -> 'score') = 'number'
                    AND abs((b ->> 'score')::numeric) < 1e300 THEN (b ->> 'score')::float8
               WHEN e.subject LIKE 'journey.%' AND jsonb_typeof(b -> 'value') = 'boolean'
                    THEN CASE WHEN (b ->> 'value')::boolean THEN 1.0 ELSE 0.0 END
           END AS value
    -- OFFSET 0 keeps this subquery from being flattened: flattened, the parse runs once per use of b (about ten times a
    -- row): 23-25 s instead of 6-8 s for this view at 1M event_log rows (perf/analytics-views, busy 2-core machine)
    FROM (SELECT company_id, subject, occurred_at, analytics_jsonb_or_null(payload) AS b
          FROM event_log
          WHERE subject LIKE 'metrics.%' OR subject LIKE 'q2q.%' OR subject LIKE 'journey.%'
          OFFSET 0) e
    WHERE jsonb_typeof(e.b) = 'object'
) f
WHERE value IS NOT NULL AND (kind = 'metric' OR user_id IS NOT NULL);

-- Latest value of every (company, journey flag, user); at the same instant a clear wins over a set.
CREATE OR REPLACE VIEW analytics_journey_state AS
SELECT DISTINCT ON (company_id, name, user_id) company_id, name AS flag, user_id, value = 1 AS flagged, occurred_at
FROM analytics_event_facts_mv
WHERE kind = 'journey'
ORDER BY company_id, name, user_id, occurred_at DESC, value ASC;

-- Per user and metric over the last 30 days: the sums the programme and language-group views average.
CREATE OR REPLACE VIEW analytics_user_metrics_30d AS
SELECT company_id, user_id, name AS metric, sum(value) AS total, count(*) AS n
FROM analytics_event_facts_mv
WHERE kind = 'metric' AND user_id IS NOT NULL AND occurred_at >= now() - interval '30 days' AND occurred_at <= now()
GROUP BY company_id, user_id, name;

CREATE MATERIALIZED VIEW IF NOT EXISTS company_dashboard_mv AS
WITH companies AS (
    SELECT company_id FROM participants
    UNION SELECT company_id FROM analytics_event_facts_mv
),
p AS (
    SELECT company_id,
           count(*) FILTER (WHERE enrolled_on <= (now() AT TIME ZONE 'UTC')::date
                            AND (left_on IS NULL OR left_on > (now() AT TIME ZONE 'UTC')::date)) AS current,
           count(*) AS total
    FROM participants GROUP BY company_id
),
activity AS (
    SELECT company_id,
           count(DISTINCT user_id) FILTER (WHERE occurred_at >= now() - interval '7 days' AND occurred_at <= now()) AS users_7d,
           count(DISTINCT user_id) FILTER (WHERE occurred_at >= now() - interval '30 days' AND occurred_at <= now()) AS users_30d,
           count(*) FILTER (WHERE occurred_at >= now() - interval '7 days' AND occurred_at <= now()) AS events_7d,
           count(*) FILTER (WHERE occurred_at >= now() - interval '30 days' AND occurred_at <= now()) AS events_30d
    FROM analytics_event_facts_mv GROUP BY company_id
),
latest AS (
    SELECT DISTINCT ON (company_id, name) company_id, name AS metric, value, occurred_at
    FROM analytics_event_facts_mv WHERE kind = 'metric'
    ORDER BY company_id, name, occurred_at DESC, value DESC
),
recent AS (
    SELECT company_id, name AS metric, avg(value) AS avg_30d, count(*) AS count_30d
    FROM analytics_event_facts_mv
    WHERE kind = 'metric' AND occurred_at >= now() - interval '30 days' AND occurred_at <= now()
    GROUP BY company_id, name
),
metrics AS (
    SELECT l.company_id,
           jsonb_agg(jsonb_build_object('metric', l.metric, 'latest', l.value,
                                        'latestAt', to_char(l.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                                        'avg30d', r.avg_30d, 'count30d', coalesce(r.count_30d, 0)) ORDER BY l.metric) AS metrics
    FROM latest l LEFT JOIN recent r USING (company_id, metric)
    GROUP BY l.company_id
),
flags AS (
    SELECT company_id, jsonb_agg(jsonb_build_object('flag', flag, 'usersFlagged', n) ORDER BY flag) AS journey_flags
    FROM (SELECT company_id, flag, count(*) FILTER (WHERE flagged) AS n FROM analytics_journey_state GROUP BY company_id, flag) j
    GROUP BY company_id
),
cohort_counts AS (
    SELECT c.company_id, count(DISTINCT c.id) AS cohorts, count(DISTINCT uc.user_id) AS cohort_members
    FROM cohorts c LEFT JOIN user_cohorts uc ON uc.cohort_id = c.id AND uc.left_at IS NULL
    WHERE c.deleted_at IS NULL
    GROUP BY c.company_id
)
SELECT c.company_id,
       coalesce(p.current, 0)       AS participants,
       coalesce(p.total, 0)         AS participants_ever,
       coalesce(a.users_7d, 0)      AS active_participants_7d,
       coalesce(a.users_30d, 0)     AS active_participants_30d,
       coalesce(a.events_7d, 0)     AS events_7d,
       coalesce(a.events_30d, 0)    AS events_30d,
       coalesce(cc.cohorts, 0)      AS cohorts,
       coalesce(cc.cohort_members, 0) AS cohort_members,
       coalesce(m.metrics, '[]')    AS metrics,
       coalesce(f.journey_flags, '[]') AS journey_flags
FROM companies c
LEFT JOIN p USING (company_id)
LEFT JOIN activity a USING (company_id)
LEFT JOIN metrics m USING (company_id)
LEFT JOIN flags f USING (company_id)
LEFT JOIN cohort_counts cc USING (company_id);
CREATE UNIQUE INDEX IF NOT EXISTS company_dashboard_mv_key ON company_dashboard_mv (company_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS program_performance_mv AS
WITH groups AS (
    SELECT company_id, programme,
           count(*) AS participants,
           count(*) FILTER (WHERE enrolled_on <= (now() AT TIME ZONE 'UTC')::date
                            AND (left_on IS NULL OR left_on > (now() AT TIME ZONE 'UTC')::date)) AS active,
           count(*) FILTER (WHERE outcome = 'completed') AS completed,
           count(*) FILTER (WHERE outcome = 'dropped_out') AS dropped_out
    FROM participants GROUP BY company_id, programme
),
metrics AS (
    SELECT company_id, programme,
           jsonb_agg(jsonb_build_object('metric', metric, 'avg30d', total / n, 'count30d', n, 'users', users) ORDER BY metric) AS metrics
    FROM (SELECT p.company_id, p.programme, m.metric, sum(m.total) AS total, sum(m.n) AS n, count(*) AS users
          FROM participants p JOIN analytics_user_metrics_30d m USING (company_id, user_id)
          GROUP BY p.company_id, p.programme, m.metric) x
    GROUP BY company_id, programme
)
SELECT g.company_id, g.programme, g.participants, g.active, g.completed, g.dropped_out,
       round(g.completed::numeric / g.participants, 4)   AS completion_rate,
       round(g.dropped_out::numeric / g.participants, 4) AS dropout_rate,
       coalesce(m.metrics, '[]') AS metrics
FROM groups g LEFT JOIN metrics m USING (company_id, programme);
CREATE UNIQUE INDEX IF NOT EXISTS program_performance_mv_key ON program_performance_mv (company_id, programme);

-- The same measures per language group; participants without a language group are in no row.
CREATE MATERIALIZED VIEW IF NOT EXISTS language_group_performance_mv AS
WITH groups AS (
    SELECT company_id, language_group,
           count(*) AS participants,
           count(*) FILTER (WHERE enrolled_on <= (now() AT TIME ZONE 'UTC')::date
                            AND (left_on IS NULL OR left_on > (now() AT TIME ZONE 'UTC')::date)) AS active,
           count(*) FILTER (WHERE outcome = 'completed') AS completed,
           count(*) FILTER (WHERE outcome = 'dropped_out') AS dropped_out
    FROM participants WHERE language_group IS NOT NULL GROUP BY company_id, language_group
),
metrics AS (
    SELECT company_id, language_group,
           jsonb_agg(jsonb_build_object('metric', metric, 'avg30d', total / n, 'count30d', n, 'users', users) ORDER BY metric) AS metrics
    FROM (SELECT p.company_id, p.language_group, m.metric, sum(m.total) AS total, sum(m.n) AS n, count(*) AS users
          FROM participants p JOIN analytics_user_metrics_30d m USING (company_id, user_id)
          WHERE p.language_group IS NOT NULL
          GROUP BY p.company_id, p.language_group, m.metric) x
    GROUP BY company_id, language_group
)
SELECT g.company_id, g.language_group, g.participants, g.active, g.completed, g.dropped_out,
       round(g.completed::numeric / g.participants, 4)   AS completion_rate,
       round(g.dropped_out::numeric / g.participants, 4) AS dropout_rate,
       coalesce(m.metrics, '[]') AS metrics
FROM groups g LEFT JOIN metrics m USING (company_id, language_group);
CREATE UNIQUE INDEX IF NOT EXISTS language_group_performance_mv_key ON language_group_performance_mv (company_id, language_group);

CREATE MATERIALIZED VIEW IF NOT EXISTS journey_stage_distribution_mv AS
SELECT company_id, flag,
       count(*) FILTER (WHERE flagged)     AS users_flagged,
       count(*) FILTER (WHERE NOT flagged) AS users_cleared,
       max(occurred_at)                    AS last_event_at
FROM analytics_journey_state
GROUP BY company_id, flag;
CREATE UNIQUE INDEX IF NOT EXISTS journey_stage_distribution_mv_key ON journey_stage_distribution_mv (company_id, flag);

-- Refreshes the facts and then the four served views CONCURRENTLY, all in the caller's transaction: either every
-- view shows the new data or (on any error) every view keeps the previous data and a 'failed' row names the error.
-- At most one refresh per schema runs at a time (transaction-scoped advisory lock); a second caller gets status
-- 'skipped' at once instead of queueing. lock_wait_ms bounds the wait for a table lock held by someone else.
CREATE OR REPLACE FUNCTION refresh_analytics_materialized_views(refresh_trigger text DEFAULT 'sql', lock_wait_ms integer DEFAULT 30000)
RETURNS TABLE (id bigint, status text, started_at timestamptz, duration_ms bigint, row_counts jsonb, error text)
LANGUAGE plpgsql AS $$
DECLARE
    t0        timestamptz := clock_timestamp();
    t         timestamptz;
    v         text;
    n         bigint;
    counts    jsonb := '{}';
    durations jsonb := '{}';
    new_id    bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('csr.refresh_analytics_materialized_views'), hashtext(current_schema())) THEN
        RETURN QUERY SELECT NULL::bigint, 'skipped'::text, t0, 0::bigint, '{}'::jsonb,
            ('another refresh of the analytics views of schema ' || current_schema() || ' is running')::text;
        RETURN;
    END IF;
    PERFORM set_config('lock_timeout', lock_wait_ms || 'ms', true);
    BEGIN
        t := clock_timestamp();
        REFRESH MATERIALIZED VIEW analytics_event_facts_mv;
        durations := durations || jsonb_build_object('analytics_event_facts_mv', round(extract(epoch FROM clock_timestamp() - t) * 1000));
        FOREACH v IN ARRAY ARRAY['company_dashboard_mv', 'program_performance_mv', 'language_group_performance_mv',
                                 'journey_stage_distribution_mv'] LOOP
            t := clock_timestamp();
            EXECUTE format('REFRESH MATERIALIZED VIEW CONCURRENTLY %I', v);
            EXECUTE format('SELECT count(*) FROM %I', v) INTO n;
            counts := counts || jsonb_build_object(v, n);
            durations := durations || jsonb_build_object(v, round(extract(epoch FROM clock_timestamp() - t) * 1000));
        END LOOP;
    EXCEPTION WHEN others THEN
        INSERT INTO view_refreshes AS r (started_at, finished_at, duration_ms, status, trigger, error)
        VALUES (t0, clock_timestamp(), round(extract(epoch FROM clock_timestamp() - t0) * 1000), 'failed', refresh_trigger, SQLERRM)
        RETURNING r.id INTO new_id;
        RETURN QUERY SELECT r.id, r.status, r.started_at, r.duration_ms, r.row_counts, r.error FROM view_refreshes r WHERE r.id = new_id;
        RETURN;
    END;
    INSERT INTO view_refreshes AS r (started_at, finished_at, duration_ms, status, trigger, row_counts, view_durations_ms)
    VALUES (t0, clock_timestamp(), round(extract(epoch FROM clock_timestamp() - t0) * 1000), 'ok', refresh_trigger, counts, durations)
    RETURNING r.id INTO new_id;
    DELETE FROM view_refreshes r WHERE r.started_at < now() - interval '30 days';
    RETURN QUERY SELECT r.id, r.status, r.started_at, r.duration_ms, r.row_counts, r.error FROM view_refreshes r WHERE r.id = new_id;
END;
$$;

-- The views were filled just now (empty on a fresh database): that is their first refresh.
INSERT INTO view_refreshes (started_at, finished_at, duration_ms, status, trigger)
SELECT now(), now(), 0, 'ok', 'migration'
WHERE NOT EXISTS (SELECT 1 FROM view_refreshes);
