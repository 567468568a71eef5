package io.csr.job.it;

import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.json.Json;
import io.csr.job.runtime.ClusterControl;
import io.csr.job.runtime.RuntimeOptions;
import io.csr.job.testing.EmbeddedJobProcess;
import io.csr.job.testing.EventFixture;
import io.csr.job.testing.JobFixture;
import io.csr.job.testing.PipelineExpectations;
import com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.api.common.JobID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * An older deployment's state keeps working under the default chosen for growth (MAX_PARALLELISM 1024 for a fresh
 * start): the embedded job runs at MAX_PARALLELISM=128 (what every deployment had before), stops with a savepoint
 * ({@code csr savepoint}); started again without MAX_PARALLELISM it resumes from that savepoint by itself, adopts 128
 * (its vertices run at 128 key groups) and every window continues from its state: each equals a recomputation over
 * all events of both runs, and every event is counted once (the dedup ids came through too). Started once more with
 * MAX_PARALLELISM=1024 (the new default, set explicitly), it refuses before running, naming both values and the fix.
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class MaxParallelismUpgradeITCase {
    private static final int TOTAL = 3_000;
    private static final int FIRST_PART = 1_500;

    @TempDir
    Path tmp;

    @Test
    void aSavepointAt128RestoresUnderTheNewDefaultAndAnExplicitMismatchIsRefused() throws Exception {
        // events over 5 minutes of event time, published in two halves: every 1-minute window gets events of both runs
        List<EventFixture.Message> messages = new EventFixture(TOTAL, 3, Instant.now().minus(Duration.ofMinutes(10)).toEpochMilli(),
                Duration.ofMinutes(5).toMillis(), 0.05, 0.02, 23).messages();
        try (JobFixture ns = new JobFixture(tmp); EmbeddedJobProcess runs = new EmbeddedJobProcess(ns, tmp, "768m", Map.of())) {
            runs.play(() -> {
                List<Long> sequences = new ArrayList<>();
                ns.stream.publishAll(messages, 0, FIRST_PART, sequences);
                Process run1 = runs.start("run-1.log", ConfigKey.MAX_PARALLELISM.name() + "=128"); // as every deployment before 1024
                PipelineExpectations first = new PipelineExpectations(messages.subList(0, FIRST_PART), sequences, ns.stream.stream);
                runs.awaitWhileRunning(run1, "run-1.log", "the first half committed", Duration.ofSeconds(150),
                        () -> first.eventsFinal(ns.ch) == first.distinctValidEvents());
                RuntimeOptions run1Rest = restOf(ns, runs.log("run-1.log"));
                assertThat(maxParallelisms(run1Rest)).containsExactly(128);
                String savepoint = stopWithSavepoint(run1Rest, run1);

                ns.stream.publishAll(messages, FIRST_PART, TOTAL, sequences);
                Process run2 = runs.start("run-2.log"); // MAX_PARALLELISM not set: a fresh start would take 1024
                PipelineExpectations whole = new PipelineExpectations(messages, sequences, ns.stream.stream);
                runs.awaitWhileRunning(run2, "run-2.log", "every event committed", Duration.ofSeconds(150),
                        () -> whole.eventsFinal(ns.ch) == whole.distinctValidEvents());
                assertThat(runs.log("run-2.log")).contains("resuming from savepoint")
                        .contains("max parallelism 128: adopted from")
                        .contains(Path.of(URI.create(savepoint)).getFileName().toString());
                RuntimeOptions run2Rest = restOf(ns, runs.log("run-2.log"));
                assertThat(maxParallelisms(run2Rest)).as("every vertex at the savepoint's key groups").containsExactly(128);
                whole.assertExactlyOnce(ns.ch, false, "a savepoint at max parallelism 128 restored under the 1024 default",
                        Duration.ofSeconds(120));
                stopWithSavepoint(run2Rest, run2); // a clean stop: the job lease is released

                // set explicitly to another value: refused before anything runs, naming both values and the fix
                Process refused = runs.start("run-3.log", ConfigKey.MAX_PARALLELISM.name() + "=1024");
                assertThat(refused.waitFor(120, TimeUnit.SECONDS)).as("run 3 exits; log:\n%s", runs.log("run-3.log")).isTrue();
                assertThat(refused.exitValue()).isEqualTo(1);
                assertThat(runs.log("run-3.log")).contains("error [job]:").contains("was written with max parallelism 128")
                        .contains("MAX_PARALLELISM=1024 is set").contains("Leave MAX_PARALLELISM unset")
                        .doesNotContain("Completed checkpoint");
            });
        }
    }

    /**
     * {@code csr savepoint} on the embedded job: stops it with a savepoint under SAVEPOINT_DIR and waits for the process
     * to end (it exits once its job finished). The path is the one the command reports, also when the process exited
     * (its REST endpoint with it) before the client read the trigger's result.
     */
    private static String stopWithSavepoint(RuntimeOptions run, Process job) throws Exception {
        String savepoint;
        try (ClusterControl control = new ClusterControl(run)) {
            List<JobID> running = control.runningJobs();
            assertThat(running).hasSize(1);
            savepoint = control.stopWithSavepoint(running.get(0));
        }
        assertThat(Path.of(URI.create(savepoint)).resolve("_metadata")).as("the reported savepoint is complete").isRegularFile();
        assertThat(job.waitFor(120, TimeUnit.SECONDS)).as("the job process ends after its savepoint").isTrue();
        assertThat(job.exitValue()).isZero();
        return savepoint;
    }

    /** The run's settings with the REST endpoint its log names (each run binds a free port of its own). */
    private static RuntimeOptions restOf(JobFixture ns, String log) {
        Matcher m = Pattern.compile("REST on (http://\\S+)").matcher(log);
        assertThat(m.find()).as("REST endpoint in the log:\n%s", log).isTrue();
        Map<String, String> c = ns.jobConfig();
        c.put(ConfigKey.CSR_STATE_DIR.name(), ns.stateDir.toString());
        c.put(ConfigKey.FLINK_REST_URL.name(), m.group(1));
        return RuntimeOptions.from(CsrConfig.of(c));
    }

    /** The distinct max parallelism of the running job's vertices, from the embedded cluster's REST API. */
    private static TreeSet<Integer> maxParallelisms(RuntimeOptions run) throws Exception {
        String rest = run.restUrl().toString().replaceAll("/+$", "");
        HttpClient http = HttpClient.newHttpClient();
        JsonNode jobs = Json.mapper().readTree(http.send(HttpRequest.newBuilder(URI.create(rest + "/jobs")).build(),
                HttpResponse.BodyHandlers.ofString()).body());
        TreeSet<Integer> values = new TreeSet<>();
        for (JsonNode j : jobs.get("jobs")) {
            if (!"RUNNING".equals(j.get("status").asText())) {
                continue;
            }
            JsonNode detail = Json.mapper().readTree(http.send(HttpRequest.newBuilder(URI.create(rest + "/jobs/" + j.get("id").asText()))
                    .build(), HttpResponse.BodyHandlers.ofString()).body());
            for (JsonNode v : detail.get("vertices")) {
                values.add(v.get("maxParallelism").asInt());
            }
        }
        return values;
    }
}
