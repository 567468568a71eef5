-- Synthetic history for the backfill benchmark: :rows metric events on one UTC day (:day), 10 companies, 4 metrics,
-- in the shape producers write them (Contract 1 payloads, byte for byte what NATS carried). Idempotent per event_id.
INSERT INTO event_log (event_id, subject, company_id, occurred_at, payload, recorded_at)
SELECT 'bf-' || g,
       'metrics.' || (ARRAY['sroi','vis','hours_volunteered','sessions'])[1 + g % 4],
       'bench-co-' || (g % 10),
       t,
       json_build_object('eventId', 'bf-' || g, 'companyId', 'bench-co-' || (g % 10),
                         'occurredAt', to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                         'value', round((random() * 100)::numeric, 2), 'userId', 'u' || (g % 5000))::text,
       t + interval '1 second'
FROM generate_series(1, :rows) AS g,
     LATERAL (SELECT (:'day'::date + (g::double precision / :rows) * interval '1 day')::timestamptz AS t) ts
ON CONFLICT (event_id) DO NOTHING;
