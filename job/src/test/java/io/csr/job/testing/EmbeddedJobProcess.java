package io.csr.job.testing;

import io.csr.common.config.ConfigKey;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The job as {@code bin/csr run job} starts it — {@code CsrJob --embedded} in a JVM of its own, so a test can kill it
 * with SIGKILL and start the very same command line again — against a test's own stream, database and Redis prefix.
 * Logs go to files under the test's directory. What the embedded-job ITCases share around their runs: {@link #play}
 * prints every run's log when the test fails, and {@link #close()} ends every run still alive.
 */
public final class EmbeddedJobProcess implements AutoCloseable {
    private final List<String> command;
    private final Path dir;
    /** Every run started here, in order, with its log's name. */
    private final Map<Process, String> started = new java.util.LinkedHashMap<>();

    /** In the namespace of {@code ns}, with {@code settings} on top of {@link JobFixture#jobConfig()}. */
    public EmbeddedJobProcess(JobFixture ns, Path dir, String heap, Map<String, String> settings) throws Exception {
        this(ns.stream, dir, heap, withNamespace(ns, settings));
    }

    private static Map<String, String> withNamespace(JobFixture ns, Map<String, String> settings) {
        Map<String, String> all = ns.jobConfig();
        all.putAll(settings);
        return all;
    }

    /** @param settings KEY=VALUE settings beyond the stream, prefix and state dir (database, Redis prefix, …) */
    public EmbeddedJobProcess(TestStream stream, Path dir, String heap, Map<String, String> settings) throws Exception {
        this.dir = dir;
        String cp = Path.of("target/classes").toAbsolutePath() + File.pathSeparator
                + Files.readString(Path.of("target/classpath.txt")).trim() + File.pathSeparator
                + Files.readString(Path.of("target/classpath-runtime.txt")).trim();
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(Arrays.asList(System.getProperty("flink.jvm.opens", "").trim().split("\\s+")));
        cmd.addAll(List.of("-Xmx" + heap, "-Dlog4j2.configurationFile=" + Path.of("src/main/config/log4j2-embedded.xml").toAbsolutePath(),
                "-cp", cp, "io.csr.job.CsrJob", "--embedded",
                ConfigKey.NATS_STREAM.name() + "=" + stream.stream,
                ConfigKey.NATS_SUBJECT_PREFIX.name() + "=" + stream.prefix,
                ConfigKey.CHECKPOINT_INTERVAL_MS.name() + "=1000",
                ConfigKey.CSR_STATE_DIR.name() + "=" + dir.resolve("state"),
                ConfigKey.FLINK_REST_URL.name() + "=http://127.0.0.1:" + TestClusters.freePort()));
        settings.forEach((k, v) -> cmd.add(k + "=" + v));
        cmd.removeIf(String::isEmpty);
        this.command = List.copyOf(cmd);
    }

    /** Starts the command, its output to {@code logName} in the test's directory. */
    public Process start(String logName) throws Exception {
        return started(new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(dir.resolve(logName).toFile()).start(), logName);
    }

    /** Starts the command with one more KEY=VALUE setting (e.g. a flag the next run confirms). */
    public Process start(String logName, String extraSetting) throws Exception {
        List<String> cmd = new ArrayList<>(command);
        cmd.add(extraSetting);
        return started(new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve(logName).toFile()).start(), logName);
    }

    private synchronized Process started(Process p, String logName) {
        started.put(p, logName);
        return p;
    }

    /** A test's steps with the runs started here. */
    @FunctionalInterface
    public interface Steps {
        void run() throws Exception;
    }

    /** Runs the test's steps; when they fail, the log of every run started here goes to stderr first. */
    public void play(Steps steps) throws Exception {
        try {
            steps.run();
        } catch (Throwable t) {
            List<String> logs;
            synchronized (this) {
                logs = List.copyOf(started.values());
            }
            for (String name : logs) {
                System.err.println("----- " + name + "\n" + log(name));
            }
            throw t;
        }
    }

    /**
     * Waits up to {@code atMost} until {@code reached} holds, as long as {@code job} (started with {@code logName})
     * runs: a job that exits first fails the test at once, with {@code what} it did not reach and its log.
     */
    public void awaitWhileRunning(Process job, String logName, String what, Duration atMost, Callable<Boolean> reached) {
        await(what).atMost(atMost).until(() -> !job.isAlive() || reached.call());
        assertThat(job.isAlive()).as("the job exited before %s; log:\n%s", what, log(logName)).isTrue();
    }

    public String log(String name) {
        try {
            return Files.readString(dir.resolve(name), StandardCharsets.UTF_8);
        } catch (Exception e) {
            return "(no " + name + ")";
        }
    }

    /** Ends every run started here that is still alive ({@link #stop}). */
    @Override
    public void close() throws InterruptedException {
        List<Process> runs;
        synchronized (this) {
            runs = List.copyOf(started.keySet());
        }
        for (Process p : runs) {
            stop(p);
        }
    }

    /** Ends a process started here: SIGTERM, then SIGKILL after 30 s. */
    public static void stop(Process job) throws InterruptedException {
        if (job != null) {
            job.destroy();
            job.waitFor(30, TimeUnit.SECONDS);
            job.destroyForcibly();
        }
    }
}
