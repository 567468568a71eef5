#!/usr/bin/env bash
# Refresh time of the four analytics views at EVENTS event_log rows and PARTICIPANTS participants (defaults: the
# figures Contract 6 asks for, 1 000 000 and 100 000). Works in a schema of its own (perf_views_<pid>) that it migrates
# with the project's own PostgreSQL migrations and drops at the end; writes perf/results/analytics-views-<date>.json.
#   perf/analytics-views/run.sh [EVENTS] [PARTICIPANTS] [COMPANIES]
# Needs psql and the PostgreSQL of POSTGRES_URL's host (default 127.0.0.1:5432, db test, user postgres).
set -euo pipefail
cd "$(dirname "$0")/../.."
EVENTS="${1:-1000000}"; PARTICIPANTS="${2:-100000}"; COMPANIES="${3:-50}"
SCHEMA="perf_views_$$"
PSQL=(psql -h "${PGHOST:-127.0.0.1}" -U "${PGUSER:-postgres}" -d "${PGDATABASE:-test}" -v ON_ERROR_STOP=1 -q -X)
trap '"${PSQL[@]}" -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true' EXIT

"${PSQL[@]}" -c "CREATE SCHEMA $SCHEMA"
for f in sql/postgres/[0-9][0-9][0-9]_*.sql; do
  "${PSQL[@]}" -c "SET search_path TO $SCHEMA" -f "$f" >/dev/null
done
echo "generating $EVENTS event_log rows and $PARTICIPANTS participants over $COMPANIES companies in $SCHEMA ..."
t0=$(date +%s)
"${PSQL[@]}" -v schema="$SCHEMA" -v events="$EVENTS" -v participants="$PARTICIPANTS" -v companies="$COMPANIES" \
  -f perf/analytics-views/generate.sql
echo "generated in $(( $(date +%s) - t0 )) s; refreshing (first = from the empty views, then twice more) ..."
results=()
for run in 1 2 3; do
  line=$("${PSQL[@]}" -At -c "SET search_path TO $SCHEMA" \
    -c "SELECT json_build_object('run', $run, 'status', status, 'durationMs', duration_ms, 'rowCounts', row_counts, 'error', error) FROM refresh_analytics_materialized_views('perf', 600000)")
  per_view=$("${PSQL[@]}" -At -c "SET search_path TO $SCHEMA" -c "SELECT view_durations_ms FROM view_refreshes ORDER BY id DESC LIMIT 1")
  echo "  $line  per view (ms): $per_view"
  results+=("{\"refresh\":$line,\"viewDurationsMs\":$per_view}")
done
mkdir -p perf/results
out="perf/results/analytics-views-$(date -u +%Y-%m-%d)-e${EVENTS}-p${PARTICIPANTS}.json"
pg_version=$("${PSQL[@]}" -At -c "SHOW server_version")
{
  printf '{"benchmark":"analytics-views","events":%s,"participants":%s,"companies":%s,"postgres":"%s","cores":%s,' \
    "$EVENTS" "$PARTICIPANTS" "$COMPANIES" "$pg_version" "$(nproc)"
  printf '"note":"machine shared with other builds and tests while measured","runs":[%s]}\n' "$(IFS=,; echo "${results[*]}")"
} >"$out"
echo "wrote $out"
