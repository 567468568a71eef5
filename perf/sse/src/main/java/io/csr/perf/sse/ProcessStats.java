package io.csr.perf.sse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** RSS and CPU time of a server's processes (all of them: nginx master + worker, Pushpin's runner and services). */
record ProcessStats(long rssBytes, double cpuSeconds) {
    private static final double TICKS_PER_SECOND = 100.0; // USER_HZ on Linux

    static ProcessStats of(List<Long> pids) {
        long rss = 0;
        double cpu = 0;
        for (long pid : pids) {
            try {
                for (String l : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                    if (l.startsWith("VmRSS:")) {
                        rss += Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024;
                    }
                }
                String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                cpu += (Long.parseLong(f[11]) + Long.parseLong(f[12])) / TICKS_PER_SECOND; // utime, stime
            } catch (IOException | RuntimeException e) {
                // a process that ended in between counts as zero
            }
        }
        return new ProcessStats(rss, cpu);
    }
}
