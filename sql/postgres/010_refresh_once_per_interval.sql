-- One refresh of the analytics views per interval however many gateways run the schedule (issue 24): the function
-- takes min_interval_ms and, once it holds the schema's advisory lock, skips when the newest refresh recorded in
-- view_refreshes (by any node or trigger, ok or failed; the migration's first row aside) started less than that long
-- ago. 0 (the default, csr refresh-views and SQL callers) always refreshes. The two-argument function is dropped
-- first: beside the three-argument one with defaults, a call with two arguments would be ambiguous.
DROP FUNCTION IF EXISTS refresh_analytics_materialized_views(text, integer);

CREATE OR REPLACE FUNCTION refresh_analytics_materialized_views(refresh_trigger text DEFAULT 'sql', lock_wait_ms integer DEFAULT 30000,
                                                                min_interval_ms integer DEFAULT 0)
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
    last_at   timestamptz;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('csr.refresh_analytics_materialized_views'), hashtext(current_schema())) THEN
        RETURN QUERY SELECT NULL::bigint, 'skipped'::text, t0, 0::bigint, '{}'::jsonb,
            ('another refresh of the analytics views of schema ' || current_schema() || ' is running')::text;
        RETURN;
    END IF;
    -- under the lock: whoever refreshed last (any node, any trigger) did so less than min_interval_ms ago -> skip
    IF min_interval_ms > 0 THEN
        SELECT max(r.started_at) INTO last_at FROM view_refreshes r WHERE r.trigger <> 'migration';
        IF last_at IS NOT NULL AND last_at > t0 - make_interval(secs => min_interval_ms / 1000.0) THEN
            RETURN QUERY SELECT NULL::bigint, 'skipped'::text, t0, 0::bigint, '{}'::jsonb,
                ('the analytics views of schema ' || current_schema() || ' were refreshed at ' || last_at
                 || ', less than ' || min_interval_ms || ' ms ago')::text;
            RETURN;
        END IF;
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

