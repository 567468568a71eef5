package io.csr.job.process;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Whether a process of this host that was recorded once (in a job lease, in a pid file) still runs: a zombie waiting
 * to be reaped and a later process under the same pid do not.
 *
 * <p>A process is recognised by its {@link StartStamp} (the boot it runs in and its start in clock ticks since that
 * boot), never by wall-clock times: the JDK computes a process's start instant from the boot time it read once, so
 * after the wall clock is stepped (NTP, a virtual machine resumed from a snapshot) every start it reports is off by
 * the step, and a live process recorded before would count as another program. Records without a stamp (pid files
 * written by {@code bin/csr}, leases from older jobs) are judged by their start instant, within a tolerance.
 */
public final class LocalProcess {
    /**
     * How far a recorded start (the JVM's own start time, a pid file's modification time) may lie from the start the
     * OS gives for the same pid: both are taken a little after the process began, never seconds after.
     */
    static final Duration START_TOLERANCE = Duration.ofSeconds(10);
    static final Path PROC = Path.of("/proc");

    private LocalProcess() {
    }

    /**
     * True when {@code pid} is a running process (not a zombie) that started at {@code startedIso}: exactly that
     * {@link StartStamp} when it is one, else that instant within {@link #START_TOLERANCE}; false when there is no such process, it is a zombie waiting to be reaped (kill -9
     * leaves one until its parent waits for it: `kill -0` still answers), or the pid belongs to a later process. When
     * the start cannot be read, a live pid counts as running.
     */
    public static boolean runs(long pid, String startedIso) {
        Optional<ProcessHandle> handle = ProcessHandle.of(pid);
        if (handle.isEmpty() || !handle.get().isAlive() || zombie(pid)) {
            return false;
        }
        Optional<StartStamp> stamp = StartStamp.parse(startedIso);
        if (stamp.isPresent()) {
            Optional<StartStamp> actual = StartStamp.of(pid);
            if (actual.isEmpty()) {
                return handle.get().isAlive() && !Files.isDirectory(PROC.resolve("self")); // no /proc: a live pid runs
            }
            return actual.get().equals(stamp.get());
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
     * {@link #runs}: started at the {@link StartStamp} recorded beside it for that pid ({@link #recordStart}), else at
     * the file's modification time, since the file is written right after the start. Empty when there is no file, it holds no pid, or the process is gone, a zombie or another program.
     */
    public static Optional<Long> recordedIn(Path pidFile) {
        try {
            if (!Files.isRegularFile(pidFile)) {
                return Optional.empty();
            }
            long pid = Long.parseLong(Files.readString(pidFile).trim());
            String started = stampBeside(pidFile, pid).orElse(Files.getLastModifiedTime(pidFile).toInstant().toString());
            return runs(pid, started) ? Optional.of(pid) : Optional.empty();
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /**
     * Writes {@code pidFile} with {@code pid} and, beside it ({@code NAME.pid.start}), the pid with its
     * {@link StartStamp}, so that {@link #recordedIn} recognises the process whatever the wall clock did since. The pid
     * file itself stays one line of digits, as every tool that reads pid files expects.
     */
    public static void recordStart(Path pidFile, long pid) throws IOException {
        Path stamp = stampFile(pidFile);
        Optional<StartStamp> start = StartStamp.of(pid);
        if (start.isPresent()) {
            Files.writeString(stamp, pid + " " + start.get() + "\n");
        } else {
            Files.deleteIfExists(stamp);
        }
        Files.writeString(pidFile, pid + "\n");
    }

    /** Removes a pid file and the start recorded beside it. */
    public static void forget(Path pidFile) throws IOException {
        Files.deleteIfExists(stampFile(pidFile));
        Files.deleteIfExists(pidFile);
    }

    private static Path stampFile(Path pidFile) {
        return pidFile.resolveSibling(pidFile.getFileName() + ".start");
    }

    /** The stamp recorded beside the pid file for this very pid; empty when there is none or it names another pid. */
    private static Optional<String> stampBeside(Path pidFile, long pid) throws IOException {
        Path stamp = stampFile(pidFile);
        if (!Files.isRegularFile(stamp)) {
            return Optional.empty();
        }
        String[] parts = Files.readString(stamp).strip().split(" ", 2);
        return parts.length == 2 && parts[0].equals(Long.toString(pid)) ? Optional.of(parts[1]) : Optional.empty();
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
            return Files.isDirectory(PROC.resolve("self"));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * When a process started, in terms no wall-clock step changes: the kernel's boot id and the process's start in clock
     * ticks since that boot (field 22 of /proc/PID/stat). Two stamps are equal only for one process of one boot.
     */
    public record StartStamp(String bootId, long ticks) {
        private static final Pattern FORM = Pattern.compile("boot ([0-9a-f-]{36}) tick (\\d+)");

        /** The stamp of a running process; empty where /proc cannot be read (not Linux) or the process is gone. */
        public static Optional<StartStamp> of(long pid) {
            try {
                String boot = Files.readString(PROC.resolve("sys/kernel/random/boot_id")).strip();
                String stat = Files.readString(PROC.resolve(Long.toString(pid)).resolve("stat"));
                String[] after = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                return Optional.of(new StartStamp(boot, Long.parseLong(after[19]))); // field 22; "after" begins at field 3
            } catch (IOException | RuntimeException e) {
                return Optional.empty();
            }
        }

        /** This JVM's own stamp, as a string for a record ({@link #toString}); empty where there is no /proc. */
        public static Optional<String> ofThisProcess() {
            return of(ProcessHandle.current().pid()).map(StartStamp::toString);
        }

        static Optional<StartStamp> parse(String recorded) {
            Matcher m = recorded == null ? null : FORM.matcher(recorded.strip());
            return m != null && m.matches() ? Optional.of(new StartStamp(m.group(1), Long.parseLong(m.group(2)))) : Optional.empty();
        }

        @Override
        public String toString() {
            return "boot " + bootId + " tick " + ticks;
        }
    }
}
