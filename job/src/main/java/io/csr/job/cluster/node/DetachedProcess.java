package io.csr.job.cluster.node;

import io.csr.job.process.LocalProcess;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * A process started detached from the CLI that started it (own session through {@code setsid}, output appended to
 * its log, stdin from /dev/null) and recorded in {@code <runDir>/<name>.pid}, the way {@code bin/csr} records its
 * processes, so a later {@code csr cluster status} or {@code down} finds it; its start is recorded beside the pid
 * ({@link LocalProcess#recordStart}) so a later pid of the same number is never taken for it. Only a pid recorded here
 * is ever signalled.
 */
public record DetachedProcess(String name, Path runDir, Path log) {
    private static final Duration STOP_GRACE = Duration.ofSeconds(30);

    public Path pidFile() {
        return runDir.resolve(name + ".pid");
    }

    /** Starts the command (first element the executable) in {@code workDir}; records its pid. */
    public long launch(List<String> command, Path workDir) throws IOException {
        Files.createDirectories(runDir);
        Files.createDirectories(log.getParent());
        List<String> cmd = new ArrayList<>();
        if (Files.isExecutable(Path.of("/usr/bin/setsid"))) {
            cmd.add("/usr/bin/setsid"); // its own session: a Ctrl-C of the calling csr does not reach the node
        }
        cmd.addAll(command);
        Process p = new ProcessBuilder(cmd).directory(workDir.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .start();
        LocalProcess.recordStart(pidFile(), p.pid());
        return p.pid();
    }

    /** The recorded pid while that process runs: not once it is a zombie, nor when the pid now names another process. */
    public Optional<Long> pid() {
        return LocalProcess.recordedIn(pidFile());
    }

    public boolean alive() {
        return pid().isPresent();
    }

    /** SIGTERM, SIGKILL after 30 s; removes the pid file. True when a live process was stopped. */
    public boolean stop(Consumer<String> progress) throws IOException, InterruptedException {
        Optional<ProcessHandle> p = pid().flatMap(ProcessHandle::of);
        if (p.isPresent()) {
            p.get().destroy();
            try {
                p.get().onExit().get(STOP_GRACE.toSeconds(), TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                progress.accept(name + " (pid " + p.get().pid() + ") ignored SIGTERM for " + STOP_GRACE.toSeconds() + " s; killing it");
                p.get().destroyForcibly();
                p.get().onExit().join();
            } catch (ExecutionException e) {
                throw new IllegalStateException(e);
            }
            progress.accept("stopped " + name + " (pid " + p.get().pid() + ")");
        }
        LocalProcess.forget(pidFile());
        return p.isPresent();
    }

    /** kill -9, as in a crash: no shutdown of any kind. Returns once the process is gone. */
    public void kill() {
        pid().flatMap(ProcessHandle::of).ifPresent(p -> {
            p.destroyForcibly();
            p.onExit().join();
        });
    }

    /** Resident memory of the process from /proc (Linux); empty when it is not running or /proc is not there. */
    public OptionalLong rssBytes() {
        return pid().map(DetachedProcess::rssOf).orElse(OptionalLong.empty());
    }

    public static OptionalLong rssOf(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith("VmRSS:")) {
                    String kb = line.substring(6).trim().split("\\s+")[0];
                    return OptionalLong.of(Long.parseLong(kb) * 1024);
                }
            }
        } catch (IOException | RuntimeException e) {
            // not on Linux, or the process just exited
        }
        return OptionalLong.empty();
    }

    /** The last lines of the log, for failure messages. */
    public String logTail(int lines) {
        try {
            List<String> all = Files.readAllLines(log);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException | RuntimeException e) {
            return "(" + log + " unreadable: " + e.getMessage() + ")";
        }
    }
}
