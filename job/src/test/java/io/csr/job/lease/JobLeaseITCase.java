package io.csr.job.lease;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.job.sink.clickhouse.TableRow;
import io.csr.job.sink.clickhouse.exactlyonce.ClickHouseSink;
import io.csr.job.testing.EmbeddedJobProcess;
import io.csr.job.testing.JobFixture;
import io.csr.job.testing.TestStream;
import org.apache.flink.runtime.execution.SuppressRestartsException;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Exactly one job per sink, against the real PostgreSQL (each test its own lease names) and, for the embedded job, real
 * child JVMs started as {@code bin/csr run job} starts them.
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class JobLeaseITCase {
    private static final CsrConfig ENV = CsrConfig.fromEnvironment();
    /**
     * The crash test never waits for it (the new instance takes a dead local holder's lease over at once), so it is long:
     * the new instance must find the lease still live to show the takeover, and a JVM and MiniCluster start took 40 s
     * on a loaded machine (an 8 s TTL had lapsed by then, and the takeover went unseen).
     */
    private static final long TTL_SECONDS = 90;

    @TempDir
    Path tmp;

    private static LeaseSettings lease(String name, String holder, long ttl) {
        return new LeaseSettings(ENV.get(ConfigKey.POSTGRES_URL), ENV.get(ConfigKey.POSTGRES_USER), ENV.get(ConfigKey.POSTGRES_PASSWORD),
                ENV.get(ConfigKey.POSTGRES_SCHEMA), name, holder, ttl);
    }

    @Test
    void aSecondHolderIsRefusedWithTheRunningOneNamedTheSameHolderTakesItAgainAndReleaseFreesIt() {
        String name = "it-" + UUID.randomUUID() + "/csr-clickhouse";
        LeaseSettings first = lease(name, "holder-a", 30);
        LeaseSettings second = lease(name, "holder-b", 30);
        try (JobLease a = JobLease.acquire(first, "0123456789abcdef0123456789abcdef")) {
            assertThatThrownBy(() -> JobLease.acquire(second, null))
                    .isInstanceOf(LeaseRefusedException.class)
                    .hasMessageContaining("another job already runs with sink " + name)
                    .hasMessageContaining("Flink job 0123456789abcdef0123456789abcdef")
                    .hasMessageContaining("pid " + ProcessHandle.current().pid())
                    .hasMessageContaining("holding the lease since")
                    .hasMessageMatching("(?s).*its lease has (29|30) s left of JOB_LEASE_TTL_SECONDS=30.*")
                    .hasMessageContaining("Stop that job first");
            assertThat(JobLease.heldByOther(second)).isPresent();
            assertThat(JobLease.heldByOther(first)).as("its own lease is nobody else's").isEmpty();
            try (JobLease again = JobLease.acquire(first, null)) {
                assertThat(again.lostTo()).isNull();
            }
            assertThat(JobLease.heldByOther(second)).as("still held by the first instance").isPresent();
        }
        assertThat(JobLease.heldByOther(second)).as("released by the last close").isEmpty();
        try (JobLease b = JobLease.acquire(second, null)) {
            assertThat(JobLease.heldByOther(first)).isPresent();
        }
    }

    /**
     * What a cluster runs: the lease is taken by the ClickHouse sink's writer of subtask 0, inside the job. With another
     * holder's lease live, the job fails for good (no restart loop) with the message.
     */
    @Test
    void theSinkWriterOfAJobRefusesToRunBesideTheHolderAndDoesNotRestart() throws Exception {
        String database = "csr_it_lease_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        ClickHouseSettings ch = ClickHouseSettings.from(ENV).withDatabase(database);
        LeaseSettings running = lease(database + "/csr-clickhouse", "the-running-job", 30);
        try (JobLease held = JobLease.acquire(running, "feedfacefeedfacefeedfacefeedface")) {
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
            env.setParallelism(2);
            env.enableCheckpointing(500);
            env.fromData(new TableRow("dead_letters", "{}"), new TableRow("dead_letters", "{}"))
                    .sinkTo(ClickHouseSink.builder().clickHouse(ch).lease(lease(database + "/csr-clickhouse", "a-second-job", 30)).build());
            assertThatThrownBy(env::execute)
                    .hasStackTraceContaining(SuppressRestartsException.class.getSimpleName())
                    .hasStackTraceContaining("another job already runs with sink " + database + "/csr-clickhouse")
                    .hasStackTraceContaining("Flink job feedfacefeedfacefeedfacefeedface");
        }
    }

    @Test
    void aSecondEmbeddedJobExitsNamingTheFirstACrashedFirstsLeaseLapsesWithinTheTtlAndAnotherSinkRunsBeside() throws Exception {
        Map<String, String> settings = Map.of(ConfigKey.JOB_LEASE_TTL_SECONDS.name(), Long.toString(TTL_SECONDS));
        Map<String, String> besideSettings = new java.util.HashMap<>(settings);
        besideSettings.put(ConfigKey.CLICKHOUSE_SINK_ID.name(), "csr-clickhouse-beside");
        Path besideDir = java.nio.file.Files.createDirectories(tmp.resolve("beside"));
        besideSettings.put(ConfigKey.CSR_STATE_DIR.name(), besideDir.resolve("state").toString());
        try (JobFixture ns = new JobFixture(tmp);
             EmbeddedJobProcess runs = new EmbeddedJobProcess(ns, tmp, "384m", settings);
             EmbeddedJobProcess besideRuns = new EmbeddedJobProcess(ns, besideDir, "384m", besideSettings)) {  // its own REST port and state
            TestStream stream = ns.stream;
            ClickHouseAccess ch = ns.ch;
            String name = ns.clickHouse.database() + "/csr-clickhouse";
            besideRuns.play(() -> runs.play(() -> {
                stream.publishMetrics("before-", 20);
                Process first = runs.start("first.log");
                runs.awaitWhileRunning(first, "first.log", "the first job's 20 events committed", Duration.ofSeconds(150),
                        () -> ch.queryLong("SELECT count() FROM events FINAL WHERE event_id LIKE 'before-%'") == 20);
                assertThat(leaseJobId(name)).as("the first job's writer holds the lease with its Flink job id").isPresent();

                // the second job (refused before its MiniCluster starts) and the one with another sink id, at once
                Process second = runs.start("second.log");
                Process beside = besideRuns.start("beside.log");
                assertThat(second.waitFor(60, TimeUnit.SECONDS)).as("the second job stops by itself; log:\n%s", runs.log("second.log")).isTrue();
                assertThat(second.exitValue()).isEqualTo(1);
                assertThat(runs.log("second.log")).contains("error [job]: another job already runs with sink " + name)
                        .contains("pid " + first.pid()).contains("s left of JOB_LEASE_TTL_SECONDS=" + TTL_SECONDS)
                        .contains("Stop that job first").doesNotContain("MiniCluster");

                besideRuns.awaitWhileRunning(beside, "beside.log", "a lease for another sink id beside the first job",
                        Duration.ofSeconds(150), () -> leaseJobId(ns.clickHouse.database() + "/csr-clickhouse-beside").isPresent());
                beside.destroyForcibly().waitFor();         // its lease (another name) plays no part below
                assertThat(first.isAlive()).as("the first job ran on beside it").isTrue();

                first.destroyForcibly().waitFor();           // SIGKILL: no shutdown hook, the lease stays behind
                assertThat(JobLease.heldByOther(lease(name, "someone-else", TTL_SECONDS)))
                        .as("a crashed holder's lease outlives it for a holder that cannot see the process").isPresent();

                stream.publishMetrics("after-", 10);
                Instant killed = Instant.now();
                Process again = runs.start("again.log");     // at once, as bin/csr start right after a crash
                runs.awaitWhileRunning(again, "again.log", "the lease taken over at once by a new instance on the crashed "
                        + "one's host, and its 10 events committed", Duration.ofSeconds(150),
                        () -> ch.queryLong("SELECT count() FROM events FINAL WHERE event_id LIKE 'after-%'") == 10);
                assertThat(leasePid(name)).as("the lease is the new instance's").isEqualTo(again.pid());
                assertThat(runs.log("again.log")).as("taken over from the dead holder, not after the TTL")
                        .contains("pid " + first.pid() + " on this host, is gone; taking the lease over");
                Duration lapsed = Duration.between(killed, Instant.now());
                System.out.println("new instance ran " + lapsed.toMillis() + " ms after kill -9 (TTL " + TTL_SECONDS + " s)");
            }));
        }
    }

    /** The Flink job id a writer recorded on the lease {@code name}, when the lease is live. */
    private static Optional<String> leaseJobId(String name) throws Exception {
        try (Connection c = DriverManager.getConnection(ENV.get(ConfigKey.POSTGRES_URL), ENV.get(ConfigKey.POSTGRES_USER), ENV.get(ConfigKey.POSTGRES_PASSWORD));
             PreparedStatement p = c.prepareStatement("SELECT job_id FROM job_leases WHERE name = ? AND expires_at > now() AND job_id IS NOT NULL")) {
            p.setString(1, name);
            try (ResultSet r = p.executeQuery()) {
                return r.next() ? Optional.of(r.getString(1)) : Optional.empty();
            }
        }
    }

    private static long leasePid(String name) throws Exception {
        try (Connection c = DriverManager.getConnection(ENV.get(ConfigKey.POSTGRES_URL), ENV.get(ConfigKey.POSTGRES_USER), ENV.get(ConfigKey.POSTGRES_PASSWORD));
             PreparedStatement p = c.prepareStatement("SELECT pid FROM job_leases WHERE name = ? AND expires_at > now()")) {
            p.setString(1, name);
            try (ResultSet r = p.executeQuery()) {
                return r.next() ? r.getLong(1) : -1;
            }
        }
    }

    /**
     * A holder that stopped renewing (a lost machine, a hung process) but whose process this host cannot judge dead:
     * its lease refuses others until JOB_LEASE_TTL_SECONDS after the last renewal, then lets the next one in.
     */
    @Test
    void aLeaseNobodyRenewsLapsesWithinItsTtl() throws Exception {
        String name = "it-" + UUID.randomUUID() + "/csr-clickhouse";
        long ttl = 3;
        JobLease.tryTake(lease(name, "holder-stuck", ttl), null);   // taken, never renewed; this JVM runs on
        Instant taken = Instant.now();
        assertThatThrownBy(() -> JobLease.tryTake(lease(name, "holder-next", ttl), null)).isInstanceOf(LeaseRefusedException.class);
        await().atMost(Duration.ofSeconds(ttl + 5)).pollInterval(Duration.ofMillis(100))
                .until(() -> JobLease.heldByOther(lease(name, "holder-next", ttl)).isEmpty());
        assertThat(Duration.between(taken, Instant.now())).as("lapsed within the TTL").isLessThanOrEqualTo(Duration.ofSeconds(ttl + 1));
        JobLease.tryTake(lease(name, "holder-next", ttl), null);
        assertThat(JobLease.heldByOther(lease(name, "holder-stuck", ttl))).as("the next holder has it now").isPresent();
    }
    /**
     * Renewals go over one kept connection, not a new one each: while another process holds every connection
     * PostgreSQL allows, a renewal that needs a new one fails and the lease lapses. Seen from PostgreSQL: the lease's
     * renewals (TTL 3 s, one a second) are always made by the same backend, which stays connected between them, and
     * is gone once the lease is released.
     */
    @Test
    void renewalsGoOverOneKeptConnection() throws Exception {
        String app = "lease-it-" + UUID.randomUUID().toString().substring(0, 8);
        String url = ENV.get(ConfigKey.POSTGRES_URL);
        LeaseSettings s = new LeaseSettings(url + (url.contains("?") ? "&" : "?") + "ApplicationName=" + app, ENV.get(ConfigKey.POSTGRES_USER),
                ENV.get(ConfigKey.POSTGRES_PASSWORD), ENV.get(ConfigKey.POSTGRES_SCHEMA), "it-" + UUID.randomUUID() + "/csr-clickhouse", "holder-kept", 3);
        java.util.Set<Integer> backends = new java.util.TreeSet<>();
        int samplesWithout = 0;
        Instant lastRenewal;
        try (Connection watch = DriverManager.getConnection(url, ENV.get(ConfigKey.POSTGRES_USER), ENV.get(ConfigKey.POSTGRES_PASSWORD));
             PreparedStatement backendsOfLease = watch.prepareStatement("SELECT pid FROM pg_stat_activity WHERE application_name = ?");
             PreparedStatement renewedAt = watch.prepareStatement("SELECT renewed_at FROM \"" + s.schema() + "\".job_leases WHERE name = ?")) {
            backendsOfLease.setString(1, app);
            renewedAt.setString(1, s.name());
            try (JobLease lease = JobLease.acquire(s, null)) {
                Instant first = renewedAt(renewedAt);
                await().atMost(Duration.ofSeconds(10)).until(() -> renewedAt(renewedAt).isAfter(first)); // the first renewal
                Instant until = Instant.now().plusSeconds(4); // four more renewals
                while (Instant.now().isBefore(until)) {
                    try (ResultSet r = backendsOfLease.executeQuery()) {
                        boolean any = false;
                        while (r.next()) {
                            backends.add(r.getInt(1));
                            any = true;
                        }
                        samplesWithout += any ? 0 : 1;
                    }
                    Thread.sleep(50);
                }
                lastRenewal = renewedAt(renewedAt);
                assertThat(lastRenewal).as("renewed meanwhile").isAfter(first.plusSeconds(3));
            }
            assertThat(backends).as("one backend made every renewal").hasSize(1);
            assertThat(samplesWithout).as("samples that found the lease's connection closed").isZero();
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                try (ResultSet r = backendsOfLease.executeQuery()) {
                    return !r.next();
                }
            });
        }
    }

    /**
     * A job_leases table made before the start stamp existed (in a schema of the test's own) gets its
     * process_start_stamp column from the first lease taken there, and the lease row carries the stamp.
     */
    @Test
    void aTableWithoutTheStartStampColumnGetsItFromTheFirstLease() throws Exception {
        String schema = "lease_it_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        String url = ENV.get(ConfigKey.POSTGRES_URL);
        try (Connection c = DriverManager.getConnection(url, ENV.get(ConfigKey.POSTGRES_USER), ENV.get(ConfigKey.POSTGRES_PASSWORD))) {
            try (var st = c.createStatement()) {
                st.execute("CREATE SCHEMA " + schema);
                st.execute("CREATE TABLE " + schema + ".job_leases (name text PRIMARY KEY, holder text NOT NULL, job_id text,"
                        + " host text NOT NULL, pid bigint NOT NULL, process_started text NOT NULL, taken_at timestamptz NOT NULL,"
                        + " renewed_at timestamptz NOT NULL, expires_at timestamptz NOT NULL)");
            }
            try {
                LeaseSettings s = new LeaseSettings(url, ENV.get(ConfigKey.POSTGRES_USER), ENV.get(ConfigKey.POSTGRES_PASSWORD), schema,
                        "it-" + UUID.randomUUID() + "/csr-clickhouse", "holder-old-table", 30);
                JobLease.tryTake(s, null);
                JobLease.tryTake(s, null); // renewed: the column is known now
                try (PreparedStatement p = c.prepareStatement("SELECT process_start_stamp FROM " + schema + ".job_leases WHERE name = ?")) {
                    p.setString(1, s.name());
                    try (ResultSet r = p.executeQuery()) {
                        assertThat(r.next()).as("the lease row").isTrue();
                        assertThat(r.getString(1)).as("the stamp of this process (null only where /proc has none)")
                                .isEqualTo(io.csr.job.process.LocalProcess.StartStamp.ofThisProcess().orElse(null));
                    }
                }
            } finally {
                try (var st = c.createStatement()) {
                    st.execute("DROP SCHEMA " + schema + " CASCADE");
                }
            }
        }
    }

    private static Instant renewedAt(PreparedStatement renewedAt) throws Exception {
        try (ResultSet r = renewedAt.executeQuery()) {
            assertThat(r.next()).as("the lease row").isTrue();
            return r.getTimestamp(1).toInstant();
        }
    }
}
