package io.csr.perf.soak;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * One process the soak owns (a server or a JVM of the system): started from a fixed command line, killed with SIGKILL,
 * stalled with SIGSTOP/SIGCONT, started again — always the same process tree it started, by pid, never by name.
 * {@code pidOf} names the process that signals must reach when it is not the launched one (PostgreSQL's postmaster,
 * launched through runuser).
 */
final class ServiceProcess {
    private final String name;
    private final List<String> command;
    private final Map<String, String> env;
    private final Path workDir;
    private final Path log;
    private final BooleanSupplier ready;
    private final LongSupplier pidOf;
    private Process process;
    private int starts;

    ServiceProcess(String name, List<String> command, Map<String, String> env, Path workDir, Path log,
                   BooleanSupplier ready, LongSupplier pidOf) {
        this.name = name;
        this.command = List.copyOf(command);
        this.env = Map.copyOf(env);
        this.workDir = workDir;
        this.log = log;
        this.ready = ready;
        this.pidOf = pidOf;
    }

    String name() {
        return name;
    }

    int starts() {
        return starts;
    }

    /** Starts the command and waits until it is ready; fails naming the log when it is not within {@code timeout}. */
    synchronized void start(Duration timeout) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().putAll(env);
        process = pb.start();
        starts++;
        awaitReady(timeout);
    }

    void awaitReady(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!ready.getAsBoolean()) {
            if (!process.isAlive()) {
                throw new IllegalStateException(name + " exited with " + process.exitValue() + " during start-up; see " + log);
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(name + " was not ready within " + timeout.toSeconds() + " s; see " + log);
            }
            Thread.sleep(100);
        }
    }

    boolean ready() {
        return ready.getAsBoolean();
    }

    /** The pid signals go to: the launched process, or the one {@code pidOf} names. */
    long pid() {
        if (pidOf != null) {
            long p = pidOf.getAsLong();
            if (p > 0) {
                return p;
            }
        }
        return process.pid();
    }

    /** kill -9 of the process (and of the launched wrapper), then waits until it is gone and reaped. */
    synchronized void kill9() throws InterruptedException {
        long target = pid();
        if (target == process.pid()) {
            process.destroyForcibly(); // SIGKILL from this JVM at once: no kill(1) to start first (a merge lasts milliseconds)
        } else {
            signal("KILL", target);
        }
        ProcessHandle.of(target).ifPresent(h -> h.onExit().orTimeout(30, TimeUnit.SECONDS).exceptionally(t -> null).join());
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    void stall() {
        signal("STOP", pid());
    }

    void resume() {
        signal("CONT", pid());
    }

    /** SIGTERM, SIGKILL after 30 s: the end of the soak. A stalled process is continued first. */
    synchronized void stop() throws InterruptedException {
        if (process == null) {
            return;
        }
        long target = pid();
        signal("CONT", target);
        signal("TERM", target);
        ProcessHandle.of(target).ifPresent(h -> h.onExit().orTimeout(30, TimeUnit.SECONDS).exceptionally(t -> {
            signal("KILL", target);
            return null;
        }).join());
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    /**
     * Starts every one of {@code processes} at once and returns when all are ready: processes that need nothing of each
     * other (the servers; then the job and the gateway) need not wait for each other's start-up, which is most of a
     * soak's set-up time. Fails as {@link #start} does, with the first failure.
     */
    static void startTogether(List<ServiceProcess> processes, Duration timeout) throws Exception {
        together(processes.stream().<Callable<Void>>map(p -> () -> {
            p.start(timeout);
            return null;
        }).toList());
    }

    /** {@link #stop()} of every one of {@code processes} at once: each may take seconds to shut down. */
    static void stopTogether(List<ServiceProcess> processes) throws Exception {
        together(processes.stream().<Callable<Void>>map(p -> () -> {
            try {
                p.stop();
            } catch (RuntimeException e) {
                System.out.println("    could not stop " + p.name() + ": " + e.getMessage());
            }
            return null;
        }).toList());
    }

    /** Runs the tasks on threads of their own and waits for all; rethrows the first failure, the others suppressed. */
    static void together(List<Callable<Void>> tasks) throws Exception {
        List<Future<Void>> futures = new ArrayList<>();
        Exception first = null;
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (Callable<Void> t : tasks) {
                futures.add(pool.submit(t));
            }
            for (Future<Void> f : futures) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    Exception cause = e.getCause() instanceof Exception x ? x : e;
                    if (first == null) {
                        first = cause;
                    } else {
                        first.addSuppressed(cause);
                    }
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    static void signal(String sig, long pid) {
        try {
            new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(10, TimeUnit.SECONDS);
        } catch (IOException e) {
            throw new IllegalStateException("cannot send SIG" + sig + " to pid " + pid + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static String classpath(List<Path> parts) {
        StringBuilder sb = new StringBuilder();
        for (Path p : parts) {
            if (!sb.isEmpty()) {
                sb.append(File.pathSeparator);
            }
            sb.append(p);
        }
        return sb.toString();
    }
}
