#!/usr/bin/env bash
# bin/csr bench backfill [--rows 500000] — backfill throughput: event_log rows → committed ClickHouse rows (events,
# metrics_timeseries) with every window recomputed. Own PostgreSQL schema and ClickHouse database, so it never touches
# the deployment's data; result JSON under perf/results/backfill-<date>.json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
rows=500000
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rows) rows="$2"; shift 2 ;;
    *) echo "error [bench backfill]: unknown option $1 (use --rows N)" >&2; exit 2 ;;
  esac
done
export POSTGRES_SCHEMA=bench_backfill CLICKHOUSE_DATABASE=csr_bench_backfill
day=$(date -u -d '3 days ago' +%F)
pg="psql -v ON_ERROR_STOP=1 -q -h 127.0.0.1 -U postgres test"
bin/csr migrate >/dev/null
echo "==> generating $rows event_log rows for $day (schema $POSTGRES_SCHEMA)"
$pg -c "SET search_path TO $POSTGRES_SCHEMA" -v rows="$rows" -v day="$day" -f perf/backfill/generate.sql 2>&1 | tail -2
result="perf/results/backfill-$(date -u +%F)-r${rows}.json"
bin/csr backfill --from "$day" --to "$day" --no-journeys --no-notices --result "$result"
echo "result: $result"
