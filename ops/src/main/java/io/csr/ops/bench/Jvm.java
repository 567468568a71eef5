package io.csr.ops.bench;

import io.csr.common.config.CsrConfig;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Processes the benchmarks start: a JVM on a module's class path (as the build wrote it), a script, or bin/csr itself,
 * with environment overrides; in the checkout's root, output to this terminal or a log file; bounded in time.
 */
final class Jvm {
    /** G1's default 200 ms pause target made young collections most of the publish → SSE p99 (perf/results/e2e.md). */
    static final String LOW_PAUSE_GC = "-XX:MaxGCPauseMillis=10";

    private final Path root;

    Jvm(Path root) {
        this.root = root;
    }

    static Jvm ofCheckout() {
        return new Jvm(Path.of(System.getProperty("csr.root", ".")).toAbsolutePath().normalize());
    }

    Path root() {
        return root;
    }

    /** CSR_STATE_DIR, its default ({@code <repo>/.csr}) read from the configuration table. */
    Path stateDir() {
        return CsrConfig.fromEnvironment().stateDir(root);
    }

    Path logDir() {
        return stateDir().resolve("logs");
    }

    Path results() {
        return root.resolve("perf/results");
    }

    /** A module's jar (or classes) and its runtime dependencies, as its build wrote them to target/classpath.txt. */
    String classpath(String module, String artifact) throws IOException {
        Path target = root.resolve(module).resolve("target");
        Path cp = target.resolve("classpath.txt");
        if (!Files.isRegularFile(cp)) {
            throw new IllegalStateException(cp + " is missing; build first: bin/csr build");
        }
        Path jar = target.resolve(artifact + "-0.1.0-SNAPSHOT.jar");
        String own = Files.isRegularFile(jar) ? jar.toString() : target.resolve("classes").toString();
        List<String> parts = new ArrayList<>(List.of(own, Files.readString(cp).strip()));
        Path runtime = target.resolve("classpath-runtime.txt"); // the job's provided Flink jars
        if (Files.isRegularFile(runtime)) {
            parts.add(Files.readString(runtime).strip());
        }
        return String.join(File.pathSeparator, parts);
    }

    /** The --add-opens Flink needs on Java 17+, kept once in the root pom (flink.jvm.opens). */
    List<String> flinkOpens() throws IOException {
        Matcher m = Pattern.compile("<flink.jvm.opens>(.*)</flink.jvm.opens>").matcher(Files.readString(root.resolve("pom.xml")));
        return m.find() ? Arrays.asList(m.group(1).trim().split("\\s+")) : List.of();
    }

    /** {@code java OPTIONS -cp CP MAIN ARGS}: the command line of a JVM like this one. */
    List<String> java(List<String> options, String classpath, String main, List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(options);
        cmd.addAll(List.of("-Dcsr.root=" + root, "-cp", classpath, main));
        cmd.addAll(args);
        return cmd;
    }

    /** Starts {@code command} in the checkout, its output to {@code log} (null: this terminal). */
    Process start(List<String> command, Map<String, String> env, Path log) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).directory(root.toFile());
        Map<String, String> e = new HashMap<>(env);
        e.putIfAbsent("CSR_STATE_DIR", stateDir().toString());
        pb.environment().putAll(e);
        if (log == null) {
            pb.inheritIO();
        } else {
            Files.createDirectories(log.getParent());
            pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        }
        return pb.start();
    }

    /** Runs {@code command} to its end within {@code limit} seconds; returns its exit code (124 when it timed out). */
    int run(List<String> command, Map<String, String> env, Path log, long limitSeconds) throws IOException, InterruptedException {
        Process p = start(command, env, log);
        if (!p.waitFor(limitSeconds, TimeUnit.SECONDS)) {
            stop(p);
            return 124;
        }
        return p.exitValue();
    }

    /** Runs {@code command} and fails with {@code what} when it does not exit 0. */
    void runOrFail(List<String> command, Map<String, String> env, Path log, long limitSeconds, String what) throws IOException, InterruptedException {
        int rc = run(command, env, log, limitSeconds);
        if (rc != 0) {
            throw new IllegalStateException(what + " (exit " + rc + (log == null ? "; output above" : "; log " + log) + ")");
        }
    }

    /** SIGTERM, then SIGKILL after 30 s: the gateway ends its streams and the job its checkpoints on SIGTERM. */
    static void stop(Process p) throws InterruptedException {
        if (p != null && p.isAlive()) {
            p.destroy();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }
}
