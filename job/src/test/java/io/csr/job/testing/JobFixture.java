package io.csr.job.testing;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.migrate.Migrations;
import io.csr.common.redis.RedisKeys;
import io.csr.job.CsrJob;
import io.csr.job.config.JobOptions;
import io.csr.job.redis.RedisUpdateSink;
import io.csr.job.runtime.RuntimeOptions;
import io.csr.job.sink.clickhouse.ClickHouseSinkOptions;
import io.csr.job.source.EventSourceBuilder;
import redis.clients.jedis.Jedis;

import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One job test's own namespace on the real services, as {@code GatewayFixture} is for the gateway: a JetStream stream
 * {@code IT_<id>} read through subject prefix {@code it_<id>.} ({@link TestStream}), a ClickHouse database
 * {@code csr_it_<id>} (created, migrated, and every row inserted into the raw tables counted so copies stay countable
 * whatever merges: {@link PipelineExpectations#installRawCounters}), a Redis key prefix {@code it_<id>:}, a state directory (checkpoints,
 * savepoints), and the job configuration that points at all of it. {@link #close()} removes the stream, the Redis keys
 * and, on the shared ClickHouse, the database.
 */
public final class JobFixture implements AutoCloseable {
    public final TestStream stream;
    public final ClickHouseSettings clickHouse;
    public final ClickHouseAccess ch;
    public final String redisPrefix;
    public final Path stateDir;
    private final boolean dropDatabase;

    /** On the shared services of the environment (NATS_URL, CLICKHOUSE_URL, REDIS_URL). */
    public JobFixture(Path tmp) throws Exception {
        this(tmp, ClickHouseSettings.from(CsrConfig.fromEnvironment()), true);
    }

    /**
     * With a ClickHouse server of the test's own ({@code server}'s address and user; the database is the fixture's).
     * Its database is not dropped at the end: the server and its data directory go with the test (and an INSERT a
     * cancelled task left half-sent can hold a table until ClickHouse's receive timeout, so a DROP could wait 30 s).
     */
    public static JobFixture onPrivateClickHouse(Path tmp, ClickHouseSettings server) throws Exception {
        return new JobFixture(tmp, server, false);
    }

    private JobFixture(Path tmp, ClickHouseSettings server, boolean dropDatabase) throws Exception {
        this.stream = new TestStream();
        this.clickHouse = server.withDatabase("csr_it_" + stream.id);
        this.redisPrefix = "it_" + stream.id + ":";
        this.stateDir = tmp.resolve("state");
        this.dropDatabase = dropDatabase;
        ClickHouseAccess access = null;
        try {
            access = ClickHouseAccess.open(clickHouse);
            access.createDatabaseIfMissing();
            Migrations.clickHouse(access, Migrations.sqlRoot(), s -> { }).migrate();
            PipelineExpectations.installRawCounters(access);
        } catch (Exception | Error e) {
            if (access != null) {
                access.close();
            }
            stream.close();
            throw e;
        }
        this.ch = access;
    }

    public String id() {
        return stream.id;
    }

    /**
     * The job's keys for this namespace (a fresh, mutable map): stream, subject prefix, database, Redis prefix, state
     * dir, and 1 s checkpoints and restart delay so tests see commits and recoveries quickly.
     */
    public Map<String, String> jobConfig() {
        Map<String, String> c = new HashMap<>();
        c.put(ConfigKey.NATS_URL.name(), TestStream.NATS_URL);
        c.put(ConfigKey.NATS_STREAM.name(), stream.stream);
        c.put(ConfigKey.NATS_SUBJECT_PREFIX.name(), stream.prefix);
        c.put(ConfigKey.CLICKHOUSE_URL.name(), clickHouse.url());
        c.put(ConfigKey.CLICKHOUSE_DATABASE.name(), clickHouse.database());
        c.put(ConfigKey.REDIS_KEY_PREFIX.name(), redisPrefix);
        c.put(ConfigKey.CSR_STATE_DIR.name(), stateDir.toString());
        c.put(ConfigKey.CHECKPOINT_INTERVAL_MS.name(), "1000");
        c.put(ConfigKey.JOB_RESTART_DELAY_MS.name(), "1000");
        return c;
    }

    /** {@link #jobConfig()} with {@code more} on top, as the KEY=VALUE arguments of a submitted job. */
    public List<String> jobArgs(Map<String, String> more) {
        Map<String, String> c = jobConfig();
        c.putAll(more);
        List<String> args = new ArrayList<>();
        c.forEach((k, v) -> args.add(k + "=" + v));
        return args;
    }

    /**
     * The job {@code config} describes — JetStream source, exactly-once ClickHouse sink, Redis update sink — without what
     * a deployed job adds around it (the sink's lease, the stream-gap guard, cohort replication): what ITCases run in
     * their own JVM.
     */
    public static CsrJob job(CsrConfig config) {
        JobOptions options = JobOptions.from(config);
        return new CsrJob(EventSourceBuilder.fromConfig(config).build(),
                CsrJob.tableSink(ClickHouseSettings.from(config), options).options(ClickHouseSinkOptions.from(config)).build(),
                RedisUpdateSink.builder().options(options).build(), options, RuntimeOptions.from(config),
                config.get(ConfigKey.NATS_SUBJECT_PREFIX));
    }

    /** Raw rows in {@code events} (copies included); -1 while ClickHouse does not answer. */
    public long committedEvents() {
        try {
            return ch.queryLong("SELECT count() FROM events");
        } catch (RuntimeException e) {
            return -1;
        }
    }

    @Override
    public void close() throws Exception {
        try {
            if (dropDatabase) {
                ch.dropDatabase();
            }
        } finally {
            try {
                ch.close();
                deleteRedisKeys();
            } finally {
                stream.close();
            }
        }
    }

    private void deleteRedisKeys() {
        try (Jedis redis = new Jedis(URI.create(CsrConfig.fromEnvironment().get(ConfigKey.REDIS_URL)))) {
            RedisKeys.deleteUnder(redis, redisPrefix);
        }
    }
}
