-- Test data for the analytics views' refresh time (perf/analytics-views/run.sh): in the schema named by psql variable
-- :schema (already migrated), :participants participants over :companies companies and :events event_log rows over the
-- last 90 days (65% metrics over 6 names, 15% q2q over 3 dimensions, 20% journey over 4 flags; 2% of metrics without a
-- user; 0.1% payloads that are not JSON), generated with generate_series so the figure is reproducible.
SET search_path TO :schema;

INSERT INTO participants (company_id, user_id, programme, language_group, enrolled_on, left_on, outcome)
SELECT 'c' || (i % :companies),
       'u' || i,
       (ARRAY['language', 'mentoring', 'buddy', 'jobs'])[1 + (i * 7) % 4],
       CASE WHEN i % 5 = 0 THEN NULL ELSE (ARRAY['de', 'fr', 'es', 'uk', 'ar', 'fa'])[1 + (i * 13) % 6] END,
       current_date - (30 + i % 300),
       CASE WHEN i % 10 = 0 THEN current_date - (i % 30) END,
       CASE WHEN i % 10 = 0 THEN (CASE WHEN i % 20 = 0 THEN 'completed' ELSE 'dropped_out' END) END
FROM generate_series(1, :participants) AS i;

INSERT INTO event_log (event_id, subject, company_id, occurred_at, payload)
SELECT 'perf-' || n,
       subject,
       'c' || (u % :companies),
       at,
       CASE WHEN n % 1000 = 0 THEN 'not json'
            WHEN subject LIKE 'metrics.%' AND n % 50 = 0 THEN '{"value":' || round((random() * 10)::numeric, 3) || '}'
            WHEN subject LIKE 'metrics.%' THEN '{"userId":"u' || u || '","value":' || round((random() * 10)::numeric, 3) || '}'
            WHEN subject LIKE 'q2q.%' THEN '{"userId":"u' || u || '","score":' || round(random()::numeric, 3) || '}'
            ELSE '{"userId":"u' || u || '","value":' || (random() < 0.7)::text || '}'
       END
FROM (
    SELECT n,
           1 + (n::bigint * 7919) % :participants AS u,
           now() - (random() * interval '90 days') AS at,
           CASE WHEN n % 100 < 65 THEN 'metrics.' || (ARRAY['sroi', 'vis', 'integration_score', 'language_level', 'mentoring_hours', 'attendance'])[1 + n % 6]
                WHEN n % 100 < 80 THEN 'q2q.' || (ARRAY['confidence', 'belonging', 'wellbeing'])[1 + n % 3]
                ELSE 'journey.' || (ARRAY['onboarded', 'matched_mentor', 'at_risk', 'completed_module'])[1 + n % 4]
           END AS subject
    FROM generate_series(1, :events) AS n
) g;
ANALYZE participants;
ANALYZE event_log;
