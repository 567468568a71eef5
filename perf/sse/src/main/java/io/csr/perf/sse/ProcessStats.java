package io.csr.perf.sse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * RSS and CPU time of every process on a server's serving path (ours: the gateway and Redis; nchan: nginx's master
 * and workers; Pushpin: its runner and every service under it). A process that cannot be read is an error, never a
 * zero: a server whose worker died mid-run, or a pid list that missed a process, would otherwise look cheaper.
 */
public record ProcessStats(long rssBytes, double cpuSeconds) {
    private static final double TICKS_PER_SECOND = 100.0; // USER_HZ on Linux

    public static ProcessStats of(List<Long> pids) {
        long rss = 0;
        double cpu = 0;
        for (long pid : pids) {
            try {
                for (String l : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                    if (l.startsWith("VmRSS:")) {
                        rss += Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024;
                    }
                }
                cpu += cpuSeconds(Files.readString(Path.of("/proc", Long.toString(pid), "stat")));
            } catch (IOException | RuntimeException e) {
                throw new IllegalStateException("cannot read /proc/" + pid + " (" + e.getMessage() + "): a process on the "
                        + "server's serving path ended or is not readable, so its CPU and memory cannot be counted; the run "
                        + "stops instead of counting it as 0. Check the server (it may have crashed) and the pids passed with "
                        + "--server-pids.", e);
            }
        }
        return new ProcessStats(rss, cpu);
    }

    /** utime + stime of one /proc/PID/stat line, in seconds. */
    static double cpuSeconds(String stat) {
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / TICKS_PER_SECOND;
    }

    /** The command name of each process ({@code /proc/PID/comm}), for the result: which processes were counted. */
    public static List<String> names(List<Long> pids) {
        List<String> out = new ArrayList<>();
        for (long pid : pids) {
            try {
                out.add(pid + " " + Files.readString(Path.of("/proc", Long.toString(pid), "comm")).trim());
            } catch (IOException e) {
                throw new IllegalStateException("cannot read /proc/" + pid + "/comm: no such process? (--server-pids)", e);
            }
        }
        return out;
    }
}
