package io.csr.common.config;

import java.util.Arrays;
import java.util.Optional;

/**
 * Every configuration key of every process, with its default and meaning. This enum is the one table: README's
 * configuration table and docker-compose's environment are checked against it by tests. Values come from the process
 * environment (or {@code -D} system properties of the same name, for tests), read once by {@link CsrConfig}.
 */
public enum ConfigKey {
    // ---- shared services
    NATS_URL(Scope.ALL, "nats://127.0.0.1:4222", "NATS server URL (JetStream enabled)."),
    NATS_STREAM(Scope.ALL, "CSR_EVENTS", "JetStream stream holding metrics.>, journey.>, q2q.> events; created by `csr up` when missing."),
    NATS_PARTITIONS(Scope.ALL, "1", "Partitions of the NATS subjects: 1 = producers publish metrics.<metric> etc. and the job reads one split per family; N > 1 = producers publish metrics.<p>.<metric> with p = EventSubjects.partitionOf(companyId, N) and the job reads 1 + N splits per family (so up to 3 × (N + 1) source readers). Producers and the job must agree; a checkpoint restores only at the value it was written with."),
    NATS_STREAM_REPLICAS(Scope.CLI, "1", "Replicas of the stream when `csr up` creates it: 1 on one nats-server, 3 on a NATS cluster (e.g. `csr cluster up --ha`'s, NATS_URL listing its nodes), so it survives the loss of any one node (an existing stream keeps its replicas)."),
    REDIS_URL(Scope.ALL, "redis://127.0.0.1:6379", "Redis of the live-update streams: one Redis `redis://[user:pass@]host:port[/db]` (or `rediss://`), a Redis Cluster `redis-cluster://host:port,host:port,…` (any nodes as seeds), or a Sentinel-managed master `redis-sentinel://host:port,…/<master name>[/db]`."),
    REDIS_KEY_PREFIX(Scope.ALL, "csr:", "Prefix of every Redis key the system writes (one company stream is `<prefix>updates:{<companyId>}`, hash-tagged so a company is one Redis Cluster slot)."),
    REDIS_FAILOVER_WAIT_MS(Scope.JOB, "30000", "How long the job's Redis writers (the update sink, corrections) keep retrying while Redis is unreachable — a Redis Cluster or Sentinel failover electing a new master — before the job fails and restarts from its checkpoint, ms (a gateway's readers retry without end). Set it above the time a failover takes (cluster-node-timeout or down-after-milliseconds plus the election)."),
    REDIS_STREAM_RETENTION_HOURS(Scope.ALL, "24", "Age bound of each company's update stream: entries older than this are trimmed (`MINID ~`) on write, hours (Contract 3 keeps 24 h); a client resuming from an older id gets `reset` and reloads a snapshot."),
    REDIS_STREAM_MAXLEN(Scope.ALL, "0", "Count bound of each company's update stream (`XTRIM MAXLEN ~`, so up to ~100 more), entries; 0 = bounded by age only. Memory per company ≈ this × the bytes per entry (docs/scaling.md); a client resuming from an id trimmed away gets `reset` and reloads a snapshot."),
    POSTGRES_URL(Scope.ALL, "jdbc:postgresql://127.0.0.1:5432/test", "JDBC URL of PostgreSQL (cohorts, feature flags, event history)."),
    POSTGRES_USER(Scope.ALL, "postgres", "PostgreSQL user."),
    POSTGRES_PASSWORD(Scope.ALL, "", "PostgreSQL password (empty for trust auth on loopback)."),
    POSTGRES_SCHEMA(Scope.ALL, "public", "PostgreSQL schema holding the project's tables and its schema_migrations."),
    POSTGRES_POOL_SIZE(Scope.GATEWAY, "8", "Most PostgreSQL connections one gateway holds (one HikariCP pool for cohorts, participants, analytics, flags, audit and /health); a request that finds them all busy waits POSTGRES_POOL_TIMEOUT_MS, then 503."),
    POSTGRES_POOL_TIMEOUT_MS(Scope.GATEWAY, "5000", "How long a gateway request waits for a free PostgreSQL connection of the pool before it is answered 503, ms (at least 250)."),
    CLICKHOUSE_URL(Scope.ALL, "http://127.0.0.1:8123", "ClickHouse HTTP endpoint. In the replicated layout (CLICKHOUSE_CLUSTER) a comma-separated list of one shard's replicas: the process uses the first and, when it stops answering, fails over to the next that answers and stays there (docs/pipeline.md, \"Failing over to another replica\")."),
    CLICKHOUSE_USER(Scope.ALL, "default", "ClickHouse user."),
    CLICKHOUSE_PASSWORD(Scope.ALL, "", "ClickHouse password."),
    CLICKHOUSE_DATABASE(Scope.ALL, "csr", "ClickHouse database holding the Contract 2 tables; created by migrations."),
    CLICKHOUSE_COMPRESSION(Scope.ALL, "false", "Compress ClickHouse HTTP traffic (LZ4). Must be false for ClickHouse 18.16; true is fine on 22+."),
    CLICKHOUSE_SOCKET_TIMEOUT_MS(Scope.ALL, "30000", "ClickHouse socket timeout per request, milliseconds."),
    CLICKHOUSE_CLUSTER(Scope.ALL, "", "Empty: one ClickHouse server, plain ReplacingMergeTree tables. Else the cluster name in the servers' remote_servers (`csr cluster up --ha` names it `csr`): migrations run ON CLUSTER and create ReplicatedReplacingMergeTree `<table>_local` tables on every server with a Distributed table of the plain name over them, sharded by company; inserts through them are synchronous and every read and write of this process goes to each shard's first live replica in remote_servers order (load_balancing=in_order), so the sink's ledger and the late-event recompute read their own writes (docs/pipeline.md, \"Replicated layout\")."),
    CLICKHOUSE_TCP_PORT(Scope.CLI, "9000", "Native TCP port of the ClickHouse server that `csr up` starts locally (HTTP port comes from CLICKHOUSE_URL)."),
    CSR_STATE_DIR(Scope.CLI, "<repo>/.csr", "Where `csr` keeps local service data, logs, pid files, checkpoints and savepoints."),
    ZOOKEEPER_QUORUM(Scope.CLI, "127.0.0.1:2181", "ZooKeeper (host:port,…) of the local Flink cluster's HA services (`csr cluster up` starts Debian's zookeeper there when nothing answers); empty = no HA, a JobManager crash then loses the running job."),

    // ---- job (add job keys below this line)
    UPDATE_INTERVAL_MS(Scope.JOB, "20", "An open 1-minute window publishes its current value at most this often (processing time, ms) and only when something changed: the live dashboard's latency."),
    COARSE_UPDATE_INTERVAL_MS(Scope.JOB, "1000", "Open 1-hour and 1-day windows (and minute windows of a backlog being caught up) publish at most this often (ms, at least UPDATE_INTERVAL_MS): they move by a fraction per event, and a slower cadence keeps the Redis entries and SSE frames per event low (perf/results/e2e.md)."),
    ALLOWED_LATENESS_MS(Scope.JOB, "600000", "Events up to this long behind their company's clock after a window closed update it from state (late firing, higher version); later ones are counted by a correction recomputed from metrics_timeseries and recorded in late_events."),
    WATERMARK_OUT_OF_ORDERNESS_MS(Scope.JOB, "5000", "Bounded out-of-orderness of each company's (company, metric) event-time clock: highest occurredAt minus this, ms."),
    ACCEPT_STREAM_GAP(Scope.JOB, "false", "true lets the job resume when the stream no longer holds messages it had not read (aged out while it was down); the lost sequence ranges go to dead_letters. false stops the job with an error instead."),
    EVENT_TIME_IDLE_MS(Scope.JOB, "60000", "A (company, metric) without events for this long of stream time (the JetStream timestamps the job has read, so downtime and a backlog being read are not silence) lets its event-time clock run on, so a quiet company's windows still close, ms."),
    DEDUP_TTL_HOURS(Scope.JOB, "24", "How long an eventId is remembered for deduplication (keyed state TTL), hours; at least 24."),
    NATS_SUBJECT_PREFIX(Scope.JOB, "", "Prefix in front of metrics./journey./q2q. subjects the job reads, removed before validation (e.g. `it_ab12.` for a test stream); empty in production."),
    NATS_SOURCE_BATCH_SIZE(Scope.JOB, "1000", "Messages the JetStream source pulls per request, per subject family; also the most it reads ahead of the job per family, so a backlog of any length takes bounded memory."),
    JOB_NAME(Scope.JOB, "csr-stream-analytics", "Flink job name (shown by the Flink REST API and used by `csr savepoint` to find the job)."),
    FLINK_BUFFER_TIMEOUT_MS(Scope.JOB, "100", "Longest time a record that is not live waits in a Flink network buffer before it goes to the next operator (each keyBy is one such hop), ms; 0 sends every record at once. Live events (at most 10 s old) do not wait for it: they are sent on at once (LiveFlush), so this only trades backlog and backfill throughput against buffer memory; Flink's 100 ms is the default (perf/results/e2e.md)."),
    JOB_PARALLELISM(Scope.JOB, "3", "Default parallelism of the job's operators. The NATS source runs at most one reader per split: 3 (one per subject family), or 3 × (NATS_PARTITIONS + 1) with partitioned subjects; 3 measured best on 2 cores (perf/job-ingest)."),
    MAX_PARALLELISM(Scope.JOB, "1024", "Flink max parallelism (number of key groups, the most subtasks any keyed operator can ever run). Unset: a fresh start takes 1024, a restore takes the value its checkpoint or savepoint was written with (128 for state from before 1024 was the default). Set: it must equal the restored state's, else the start is refused naming both (keyed state cannot move between two values); what 1024 costs and why not 4096: docs/scaling.md."),
    CHECKPOINT_INTERVAL_MS(Scope.JOB, "5000", "Exactly-once checkpoint interval; ClickHouse rows become visible when the checkpoint covering them completes."),
    CHECKPOINT_TIMEOUT_MS(Scope.JOB, "120000", "A checkpoint not completed within this time is aborted (the job keeps running)."),
    CHECKPOINT_DIR(Scope.JOB, "<CSR_STATE_DIR>/checkpoints", "Where checkpoints are retained (path or URI, e.g. s3://bucket/ckpt); the embedded job resumes from the latest completed one here and claims it (a later job's RocksDB checkpoints may use files under an earlier job id: delete no job-id directory by hand)."),
    SAVEPOINT_DIR(Scope.JOB, "<CSR_STATE_DIR>/savepoints", "Where `csr savepoint` writes savepoints (path or URI)."),
    STATE_BACKEND(Scope.JOB, "hashmap", "Flink state backend: hashmap (heap) or rocksdb (incremental checkpoints, state larger than memory)."),
    FLINK_MANAGED_MEMORY_MB(Scope.JOB, "512", "Managed memory of the embedded job's TaskManager (all slots), MB: with STATE_BACKEND=rocksdb it holds RocksDB's block cache and write buffers (Flink's local default of 128 MB is too small for a dedup state of millions of ids: commit d9e672a). Unused by the hashmap backend. A cluster sets taskmanager.memory.managed.size in flink-conf."),
    JOB_RESTART_ATTEMPTS(Scope.JOB, "2147483647", "Times the job restarts itself from the last checkpoint after a failure before giving up."),
    JOB_RESTART_DELAY_MS(Scope.JOB, "2000", "Delay between automatic restarts after a failure, milliseconds."),
    JOB_LEASE_TTL_SECONDS(Scope.JOB, "30", "Exactly one job per sink: the running job holds a lease on CLICKHOUSE_DATABASE/CLICKHOUSE_SINK_ID in PostgreSQL (table job_leases), renewed every third of this; a second job with the same sink refuses to start and names the running one. A crashed job's lease lapses this many seconds after its last renewal (3..3600)."),
    FLINK_REST_URL(Scope.JOB, "http://127.0.0.1:8081", "Flink REST endpoint: `csr submit`/`csr savepoint` talk to it; the embedded job (`csr run job`) serves it on this port."),
    // exactly-once ClickHouse sink (job/.../sink/clickhouse)
    CLICKHOUSE_SINK_ID(Scope.JOB, "csr-clickhouse", "Stable name of the exactly-once ClickHouse sink in its commit ledger (table sink_commits). Keep it across restarts, savepoints and redeployments; give a second sink writing the same database its own name. Letters, digits, . _ - (max 64)."),
    CLICKHOUSE_BATCH_ROWS(Scope.JOB, "50000", "Most rows the ClickHouse sink puts into one INSERT (one committable); a checkpoint's rows of a table are split into batches of at most this many rows."),
    CLICKHOUSE_BATCH_BYTES(Scope.JOB, "16777216", "Most JSONEachRow bytes the ClickHouse sink puts into one INSERT (one committable), 16 MiB by default; a single larger row still goes alone."),
    CLICKHOUSE_COMMIT_RETRIES(Scope.JOB, "8", "Retries of a retriable ClickHouse error (timeout, connection refused, overload) per commit step, with exponential backoff, before the commit fails and the job restarts from its last checkpoint (the committable is kept, never dropped)."),
    CLICKHOUSE_COMMIT_BACKOFF_MS(Scope.JOB, "200", "First backoff of a ClickHouse commit retry, milliseconds; doubled on every further retry up to CLICKHOUSE_COMMIT_MAX_BACKOFF_MS."),
    CLICKHOUSE_COMMIT_MAX_BACKOFF_MS(Scope.JOB, "10000", "Longest backoff between two ClickHouse commit retries, milliseconds."),
    // retention (job/.../retention): monthly partitions dropped on a schedule (the common dialect has no TTL)
    RETENTION_MONTHS(Scope.JOB, "13", "Months of data kept in events, metrics_timeseries, metric_windows and the sink ledger, counting the current month; older monthly partitions are dropped."),
    RETENTION_DEAD_LETTER_MONTHS(Scope.JOB, "6", "Months kept in dead_letters, late_events and window_recomputes, counting the current month."),
    RETENTION_COMPACT_MONTHS(Scope.JOB, "true", "Each retention run also merges a month of events, metrics_timeseries or metric_windows into one part (OPTIMIZE … PARTITION … FINAL) once a tenth of its rows lie outside its biggest part: FINAL reads get about 2x faster and replayed copies leave the disk."),
    RETENTION_CHECK_HOURS(Scope.JOB, "6", "Hours between two retention runs of the job process (the first runs at start); 0 turns scheduled retention off."),
    // cohort replication PostgreSQL -> ClickHouse (job/.../cohort; reads POSTGRES_URL/USER/PASSWORD/SCHEMA)
    COHORT_REPLICATION_ENABLED(Scope.JOB, "true", "The job copies PostgreSQL cohorts and user_cohorts into ClickHouse (incremental on updated_at, through the exactly-once sink); false leaves them out of the job graph."),
    COHORT_REPLICATION_POLL_MS(Scope.JOB, "5000", "How often the job reads cohort and membership changes from PostgreSQL, ms; a change reaches ClickHouse FINAL within about this plus one checkpoint interval."),
    COHORT_REPLICATION_SAFETY_LAG_MS(Scope.JOB, "1000", "The replication watermark never passes PostgreSQL's clock minus this, ms (besides the start of the oldest open transaction): covers a transaction not yet shown in pg_stat_activity and small clock steps. See docs/pipeline.md."),

    // ---- gateway (add gateway keys below this line)
    GATEWAY_HOST(Scope.GATEWAY, "127.0.0.1", "Address the gateway listens on (0.0.0.0 for every interface)."),
    GATEWAY_PORT(Scope.GATEWAY, "8080", "HTTP(S) port of the gateway (0 picks a free port)."),
    GATEWAY_READ_TIMEOUT_SECONDS(Scope.GATEWAY, "10", "A connection's first request head (request line and headers) must be complete this many seconds after the connection opened; a head that never finishes (slow loris) is closed."),
    GATEWAY_IDLE_TIMEOUT_SECONDS(Scope.GATEWAY, "60", "A connection waiting this long for its next request, a later request's head still incomplete this long after its request line, or a request body not read on for this long in one wait is closed (checked every second). SSE streams only write and are never idle by this measure."),
    GATEWAY_MAX_CONNECTIONS(Scope.GATEWAY, "11000", "Connections the gateway holds open at once (SSE streams included, which have their own lower limits); further connections wait in the accept backlog until one closes."),
    GATEWAY_TLS_KEYSTORE(Scope.GATEWAY, "", "PKCS12 keystore (private key + certificate chain) that turns on TLS for the gateway listener; empty = plain HTTP."),
    GATEWAY_TLS_KEYSTORE_PASSWORD(Scope.GATEWAY, "", "Password of GATEWAY_TLS_KEYSTORE (store and key)."),
    JWT_SECRET(Scope.ALL, "csr-dev-secret-do-not-use-in-production-0123456789", "HS256 secret (at least 32 bytes) the gateway verifies tokens with and `csr token` signs dev tokens with. The default is a documented dev secret: set your own outside a laptop."),
    JWT_JWKS_URL(Scope.GATEWAY, "", "Optional JWKS URL (e.g. https://idp.example/.well-known/jwks.json): when set, the gateway also accepts RS256 tokens signed by a key of that set (cached, refreshed on unknown kid); JWT_ISSUER and JWT_AUDIENCE must then be set too (the gateway refuses to start without them: an identity provider signs tokens for every application it serves)."),
    JWT_ISSUER(Scope.ALL, "", "Required `iss` of every token when set (exact match); `csr token` mints it. Required when JWT_JWKS_URL is set."),
    JWT_AUDIENCE(Scope.ALL, "", "Accepted `aud` values (comma-separated) when set: a token must name one of them; `csr token` mints the first. Required when JWT_JWKS_URL is set."),
    JWT_CLOCK_SKEW_SECONDS(Scope.GATEWAY, "30", "Clock skew allowed for a token's `nbf` (and `exp` as the JWT library checks it; an open stream still ends at `exp` exactly)."),
    JWT_MAX_LIFETIME_SECONDS(Scope.ALL, "2592000", "Longest lifetime a token may have: `exp` − `iat` (or `exp` − now when it has no `iat`), 30 days by default; a longer-lived token is refused (401). `csr token --ttl` is held to it too."),
    CORS_ALLOWED_ORIGINS(Scope.GATEWAY, "", "Origins (scheme://host[:port], exact, comma-separated) whose browser pages may call the gateway (SSE and REST): they get CORS headers on every answer and preflight OPTIONS. Empty = same origin only; other origins get no CORS headers."),
    STREAMING_ENABLED(Scope.GATEWAY, "true", "Master switch of /stream/updates; false answers 501. Per-company switch: PostgreSQL feature_flags (flag 'streaming')."),
    STREAM_BUFFER_EVENTS(Scope.GATEWAY, "100", "Events buffered per SSE connection; a client that falls further behind is evicted and resumes by id."),
    STREAM_HEARTBEAT_SECONDS(Scope.GATEWAY, "15", "Seconds between `: heartbeat` comments on every SSE connection (dead sockets are found by failed heartbeat writes)."),
    STREAM_IDLE_TIMEOUT_SECONDS(Scope.GATEWAY, "900", "An SSE connection that delivered no event for this long is closed (the client reconnects and resumes by id)."),
    STREAM_MAX_CONNECTIONS_PER_COMPANY(Scope.GATEWAY, "1000", "SSE connections one company may hold on all gateway nodes together (counted in Redis; a killed node's streams stop counting within 15 s); above it 429 with Retry-After."),
    STREAM_MAX_CONNECTIONS(Scope.GATEWAY, "10000", "SSE connections one gateway node accepts in all; above it 503 with Retry-After."),
    STREAM_RETRY_AFTER_SECONDS(Scope.GATEWAY, "5", "Retry-After value sent with 429/503 answers."),
    GATEWAY_DRAIN_SECONDS(Scope.GATEWAY, "10", "Grace period of a gateway told to stop (SIGTERM): /health/ready turns 503 and new streams are refused at once, every open stream gets `event: close` with a jittered `retry` (0.5-5 s) so its client resumes elsewhere, and the process is gone within this many seconds whatever still runs (1..300)."),
    STREAM_DIRECT_CONNECTIONS(Scope.GATEWAY, "true", "An SSE request that is the first on its connection is served on that connection without Helidon's routing (Helidon still parses it, answers every error and the connection's later requests): 14.5 instead of 21.9 KiB of heap per idle stream (5,000 streams). false sends every request through the routing."),
    STREAM_HISTORY_CHECK_MS(Scope.GATEWAY, "1000", "How long a gateway reader fans out a stream's entries without checking again that the stream kept its history (not deleted, re-created or trimmed past the reader's position; one Redis call per reader and interval instead of one per read). A loss is reported by a history_lost reset at most this plus 500 ms after the first frame that followed it; the first read after a quiet interval is checked before it is fanned out. 0: every read is checked first."),
    STREAM_READERS(Scope.GATEWAY, "32", "Redis reader threads per gateway node; each tails (XREAD BLOCK) the streams of a hash partition of the companies that have subscribers. Redis's work per XREAD grows with the streams it names, and at light load every entry costs one XREAD: more readers, fewer streams each (an idle reader costs one XREAD per 500 ms; on a Redis Cluster, where readers poll, one pipeline per node every 20 ms: so there the default is 8 unless this is set)."),
    FEATURE_FLAG_REFRESH_SECONDS(Scope.GATEWAY, "10", "How often the gateway reloads per-company feature flags from PostgreSQL."),
    COHORT_DAILY_AGGREGATES(Scope.GATEWAY, "true", "The cohort endpoints read, per request, the per-user daily aggregates (user_daily_metrics, written by the job: cost grows with members × days) where the range's months hold at least 1.6 observations per daily row (1.0 for /cohort/top), else the observations (metrics_timeseries), whichever reads less; false always reads the observations, e.g. while an upgraded deployment's table is still being filled. Same figures either way (docs/analytics.md)."),
    COHORT_MEMBERSHIP_CACHE_ROWS(Scope.GATEWAY, "2000000", "Active memberships (all companies) a gateway keeps in memory for /cohort/top, about 20 bytes each; a company with more is answered by the ClickHouse join instead. 0 turns the cache off."),
    API_RATE_LIMIT_PER_MINUTE(Scope.GATEWAY, "600", "Requests to /stream/snapshot, /analytics/* and /participants* one company may make per minute on all gateway nodes together (token bucket in Redis, bursts up to the same number, charged before any database work; per node while Redis is down); above it 429 with Retry-After."),
    COHORT_MONTH_REFRESH_SECONDS(Scope.GATEWAY, "300", "Seconds between two refreshes of the per-cohort monthly figures (cohort_month_metrics) and the users' month masks (user_month_masks): each gateway recomputes the closed months of every live cohort whose observations or members changed since, and metrics, overview, compare and top read the fresh whole months of a range from there (the same answers; docs/analytics.md). 0 turns them off: every figure is read from the daily rows or the observations."),
    COHORT_OPEN_MONTH_DAYS_FROM_ROWS(Scope.GATEWAY, "3000000", "Rows of metrics_timeseries (every company's, from system.parts) the open month's partition must hold before the cohort endpoints read that month from the per-cohort day rows and day masks (cohort_day_metrics, user_day_masks) and the month refresh computes them; below it the open month is read from the daily rows or the observations and the refresh writes no day rows. What it trades: the day rows spare a request the open month's observations but cost reads of their own (day headers, day marks, day-mask headers, one day-mask row per user and metric) and refresh work; measured on 100k users and 200 cohorts, a December of 0.85M observations answered faster without them, one of 8.3M much faster with them (docs/analytics.md). 0: always through the days."),
    COHORT_RULE_REFRESH_SECONDS(Scope.GATEWAY, "15", "Seconds between two recomputes of every rule cohort's membership (under an advisory lock, so one gateway does it per period); journey flags and behaviour reach the figures within about this plus the cohort replication. 0 turns the schedule off (rules are then recomputed only when they or a participant change through the API)."),
    COHORT_RATE_LIMIT_PER_MINUTE(Scope.GATEWAY, "600", "Cohort API requests (/cohort/*, /cohorts/*) one company may make per minute on all gateway nodes together (token bucket in Redis, bursts up to the same number; per node while Redis is down); above it 429 with Retry-After."),
    GATEWAY_MAX_BODY_BYTES(Scope.GATEWAY, "16777216", "Largest request body the gateway reads, bytes, for every endpoint that takes one (PUT /participants/{id}, POST /participants:import, /cohorts, /cohort/compare); checked while reading (a larger Content-Length is refused before a byte is read), above it 413 body_too_large."),
    ANALYTICS_REFRESH_SECONDS(Scope.GATEWAY, "300", "Seconds between two refreshes of the PostgreSQL analytics views (refresh_analytics_materialized_views(), under an advisory lock; a gateway whose turn comes less than this after the last recorded refresh of any node skips, so N gateways refresh once per interval, not N times); 0 turns the gateway's schedule off (then run `csr refresh-views` from cron)."),
    ;

    /** Which process reads the key. */
    public enum Scope { ALL, JOB, GATEWAY, CLI }

    private final Scope scope;
    private final String defaultValue;
    private final String description;

    ConfigKey(Scope scope, String defaultValue, String description) {
        this.scope = scope;
        this.defaultValue = defaultValue;
        this.description = description;
    }

    public Scope scope() {
        return scope;
    }

    public String defaultValue() {
        return defaultValue;
    }

    public String description() {
        return description;
    }

    public static Optional<ConfigKey> byName(String name) {
        return Arrays.stream(values()).filter(k -> k.name().equals(name)).findFirst();
    }
}
