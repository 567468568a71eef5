package io.csr.job.it;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.migrate.Migrations;
import io.csr.job.runtime.ClusterControl;
import io.csr.job.runtime.RuntimeOptions;
import io.csr.job.testing.EventFixture;
import io.csr.job.testing.FlinkStandaloneCluster;
import io.csr.job.testing.PipelineExpectations;
import io.csr.job.testing.TestJars;
import io.csr.job.testing.TestStream;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code csr submit} and {@code csr savepoint} for real: the shaded jar goes to a standalone session cluster over
 * REST (ClusterControl, as bin/csr calls it), the job is stopped with a savepoint, more events arrive, the jar is
 * submitted again from the savepoint; ClickHouse then holds every valid event once and every malformed one once.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class SubmitAndSavepointITCase {
    @TempDir
    Path tmp;

    @Test
    void submittedJobStopsWithASavepointAndResumesFromIt() throws Exception {
        EventFixture fixture = new EventFixture(3_000, 3, Instant.now().minus(Duration.ofMinutes(10)).toEpochMilli(),
                Duration.ofMinutes(5).toMillis(), 0.05, 0.02, 7);
        List<EventFixture.Message> messages = fixture.messages();
        try (TestStream stream = new TestStream();
             FlinkStandaloneCluster cluster = new FlinkStandaloneCluster(tmp.resolve("flink"), Map.of()).start()) {
            CsrConfig env = CsrConfig.fromEnvironment();
            ClickHouseSettings chSettings = ClickHouseSettings.from(env).withDatabase("csr_it_" + stream.id);
            List<String> jobArgs = List.of(
                    ConfigKey.NATS_STREAM.name() + "=" + stream.stream,
                    ConfigKey.NATS_SUBJECT_PREFIX.name() + "=" + stream.prefix,
                    ConfigKey.CLICKHOUSE_DATABASE.name() + "=" + chSettings.database(),
                    ConfigKey.REDIS_KEY_PREFIX.name() + "=it_" + stream.id + ":",
                    ConfigKey.CHECKPOINT_INTERVAL_MS.name() + "=1000",
                    ConfigKey.CSR_STATE_DIR.name() + "=" + tmp.resolve("state"));
            RuntimeOptions options = RuntimeOptions.from(env.with(Map.of(
                    ConfigKey.FLINK_REST_URL.name(), cluster.restUrl(),
                    ConfigKey.CSR_STATE_DIR.name(), tmp.resolve("state").toString())));
            try (ClickHouseAccess ch = ClickHouseAccess.open(chSettings); ClusterControl control = new ClusterControl(options)) {
                ch.createDatabaseIfMissing();
                Migrations.clickHouse(ch, Migrations.sqlRoot(), s -> { }).migrate();
                List<Long> sequences = new ArrayList<>();
                try {
                    stream.publishAll(messages, 0, 2_000, sequences);
                    JobID first = control.submit(TestJars.shadedJobJar().toFile(), jobArgs, null);
                    PipelineExpectations half = new PipelineExpectations(messages.subList(0, 2_000), sequences, stream.stream);
                    await().atMost(Duration.ofSeconds(120)).until(() -> half.eventsFinal(ch) == half.distinctValidEvents());
                    assertThat(control.runningJobs()).containsExactly(first);

                    String savepoint = control.stopWithSavepoint(first);
                    assertThat(Files.isRegularFile(Path.of(java.net.URI.create(savepoint)).resolve("_metadata"))).isTrue();
                    assertThat(control.status(first)).isEqualTo(JobStatus.FINISHED);

                    stream.publishAll(messages, 2_000, messages.size(), sequences);
                    JobID second = control.submit(TestJars.shadedJobJar().toFile(), jobArgs, savepoint);
                    PipelineExpectations all = new PipelineExpectations(messages, sequences, stream.stream);
                    await().atMost(Duration.ofSeconds(120)).until(() -> all.eventsFinal(ch) == all.distinctValidEvents()
                            && all.deadLetterSequences(ch).size() == all.malformedSequences().size());

                    assertThat(ch.queryLong("SELECT uniqExact(company_id, event_id) FROM events FINAL")).isEqualTo(all.distinctValidEvents());
                    assertThat(all.deadLetterSequences(ch)).containsExactlyInAnyOrderElementsOf(all.malformedSequences());
                    assertThat(cluster.get("/jobs/" + second + "/checkpoints")).as("the second run restored the savepoint")
                            .contains(Path.of(java.net.URI.create(savepoint)).getFileName().toString());
                    control.stopWithSavepoint(second);
                } catch (Throwable t) {
                    System.err.println(cluster.logTail(80));
                    throw t;
                } finally {
                    ch.dropDatabase();
                }
            }
        }
    }

}
