package io.csr.job.process;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Optional;

/**
 * Whether a process of this host that was recorded once (in a job lease, in a pid file) still runs: a zombie waiting
 * to be reaped and a later process under the same pid do not.
 */
public final class LocalProcess {
    /**
     * How far a recorded start (the JVM's own start time, a pid file's modification time) may lie from the start the
     * OS gives for the same pid: both are taken a little after the process began, never seconds after.
     */
    static final Duration START_TOLERANCE = Duration.ofSeconds(10);

    private LocalProcess() {
    }

    /**
     * True when {@code pid} is a running process (not a zombie) that started at {@code startedIso}, within
     * {@link #START_TOLERANCE}; false when there is no such process, it is a zombie waiting to be reaped (kill -9
     * leaves one until its parent waits for it: `kill -0` still answers), or the pid belongs to a later process. When
     * the start cannot be read, a live pid counts as running.
     */
    public static boolean runs(long pid, String startedIso) {
        Optional<ProcessHandle> handle = ProcessHandle.of(pid);
        if (handle.isEmpty() || !handle.get().isAlive() || zombie(pid)) {
            return false;
        }
        Optional<Instant> start = handle.get().info().startInstant();
        if (start.isEmpty() && !handle.get().isAlive()) {
            return false; // reaped after the checks above: its start went with it
        }
        if (start.isEmpty() || startedIso == null) {
            return true;
        }
        try {
            Instant recorded = Instant.parse(startedIso);
            return Duration.between(start.get(), recorded).abs().compareTo(START_TOLERANCE) <= 0;
        } catch (DateTimeParseException e) {
            return true;
        }
    }

    /**
     * The pid written in {@code pidFile} (digits and a newline, as {@code bin/csr} writes them) when that process
     * {@link #runs}; the file's modification time stands for the process's start, since the file is written right after
     * the start. Empty when there is no file, it holds no pid, or the process is gone, a zombie or another program.
     */
    public static Optional<Long> recordedIn(Path pidFile) {
        try {
            if (!Files.isRegularFile(pidFile)) {
                return Optional.empty();
            }
            long pid = Long.parseLong(Files.readString(pidFile).trim());
            String written = Files.getLastModifiedTime(pidFile).toInstant().toString();
            return runs(pid, written) ? Optional.of(pid) : Optional.empty();
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /**
     * The state field of /proc/PID/stat is Z (zombie) or X (dead), or the entry is gone while /proc is there (reaped
     * since the caller saw it); false where /proc cannot be read.
     */
    static boolean zombie(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            int close = stat.lastIndexOf(')');
            if (close < 0 || close + 2 >= stat.length()) {
                return false;
            }
            char state = stat.charAt(close + 2);
            return state == 'Z' || state == 'X';
        } catch (NoSuchFileException e) {
            return Files.isDirectory(Path.of("/proc/self"));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
