package io.csr.job.perf;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * CPU time the services beside the job spent (NATS, ClickHouse, Redis, PostgreSQL), read from {@code /proc/<pid>/stat}
 * (user + system time of every thread of every process of that name), so a benchmark can say how much of the two cores
 * was the job's and how much the services' — and so what the machine could ingest if the job cost nothing. Also this
 * JVM's own threads by kernel name, native ones included ({@link #ownThreadsByNameSinceStart}).
 */
final class ServiceCpu {
    /** Process names ({@code comm}, which the kernel cuts to 15 characters) of the services, by the name reported. */
    private static final Map<String, String> SERVICES = Map.of(
            "nats-server", "nats",
            "clickhouse-serv", "clickhouse",
            "redis-server", "redis",
            "postgres", "postgresql");
    /** USER_HZ: Linux reports process times in ticks of 1/100 s on every architecture the JDK runs on. */
    private static final long TICKS_PER_SECOND = 100;

    private final Map<String, Long> atStart;
    private final Map<String, Map.Entry<String, Long>> threadsAtStart;

    private ServiceCpu(Map<String, Long> atStart, Map<String, Map.Entry<String, Long>> threadsAtStart) {
        this.atStart = atStart;
        this.threadsAtStart = threadsAtStart;
    }

    static ServiceCpu start() {
        return new ServiceCpu(sample(), ownThreads());
    }

    /** Milliseconds of CPU per service since {@link #start}; empty when /proc cannot be read (not Linux). */
    Map<String, Long> sinceStart() {
        Map<String, Long> now = sample();
        Map<String, Long> out = new LinkedHashMap<>();
        for (String service : new java.util.TreeSet<>(SERVICES.values())) {
            if (now.containsKey(service)) {
                out.put(service, now.get(service) - atStart.getOrDefault(service, 0L));
            }
        }
        return out;
    }

    /**
     * The JSON section: CPU ms per service, their sum, and µs per message for the services and for the job's process,
     * with the ceiling the services alone leave on this machine ({@code cores / services' CPU per message}).
     *
     * @param ms what {@link #sinceStart} returned when the clock stopped
     */
    static String json(Map<String, Long> ms, long messages, long jobProcessCpuMs) {
        long services = ms.values().stream().mapToLong(Long::longValue).sum();
        int cores = Runtime.getRuntime().availableProcessors();
        StringBuilder sb = new StringBuilder("{\"ms\": {");
        String sep = "";
        for (Map.Entry<String, Long> e : ms.entrySet()) {
            sb.append(sep).append('"').append(e.getKey()).append("\": ").append(e.getValue());
            sep = ", ";
        }
        double servicesUs = messages > 0 ? services * 1000.0 / messages : 0;
        double jobUs = messages > 0 ? jobProcessCpuMs * 1000.0 / messages : 0;
        sb.append(String.format(Locale.ROOT, "}, \"servicesMs\": %d, \"servicesUsPerMessage\": %.1f, \"jobUsPerMessage\": %.1f, "
                        + "\"ceilingEventsPerSecondIfJobWereFree\": %.0f, \"what\": \"CPU of the service processes over the "
                        + "same clock as the job (from /proc/<pid>/stat); the ceiling is %d cores / the services' CPU per message\"}",
                services, servicesUs, jobUs, servicesUs > 0 ? cores * 1e6 / servicesUs : 0, cores));
        return sb.toString();
    }

    /**
     * CPU ms of this JVM's own threads since {@link #start}, by kernel thread name ({@code comm}, 15 characters), largest
     * first: unlike {@code ThreadMXBean} it sees the native ones (RocksDB's {@code rocksdb:low}/{@code rocksdb:high}
     * compaction and flush threads, the JIT's {@code C2 CompilerThre}, {@code GC Thread#N}). Digits are folded so pools
     * sum up; threads that ended before the end of the run are not counted.
     */
    Map<String, Long> ownThreadsByNameSinceStart() {
        Map<String, Long> byName = new java.util.HashMap<>();
        ownThreads().forEach((tid, nameAndMs) -> byName.merge(nameAndMs.getKey(),
                nameAndMs.getValue() - threadsAtStart.getOrDefault(tid, Map.entry("", 0L)).getValue(), Long::sum));
        Map<String, Long> out = new LinkedHashMap<>();
        byName.entrySet().stream().filter(e -> e.getValue() > 0)
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(20)
                .forEach(e -> out.put(e.getKey(), e.getValue()));
        return out;
    }

    /** Thread id → (name with digits folded, CPU ms) of this JVM's threads now. */
    private static Map<String, Map.Entry<String, Long>> ownThreads() {
        Map<String, Map.Entry<String, Long>> out = new java.util.HashMap<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            tasks.forEach(t -> {
                Map.Entry<String, Long> nameAndMs = nameAndCpuMs(t.resolve("stat"));
                if (nameAndMs != null) {
                    out.put(t.getFileName().toString(), Map.entry(nameAndMs.getKey().replaceAll("\\d+", "N"), nameAndMs.getValue()));
                }
            });
        } catch (IOException e) {
            return out;
        }
        return out;
    }

    /** CPU ms per service name, summed over its processes, now. */
    private static Map<String, Long> sample() {
        Map<String, Long> out = new LinkedHashMap<>();
        Path proc = Path.of("/proc");
        if (!Files.isDirectory(proc)) {
            return out;
        }
        try (Stream<Path> pids = Files.list(proc)) {
            pids.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).forEach(p -> {
                Map.Entry<String, Long> nameAndMs = nameAndCpuMs(p.resolve("stat"));
                String service = nameAndMs == null ? null : SERVICES.get(nameAndMs.getKey());
                if (service != null) {
                    out.merge(service, nameAndMs.getValue(), Long::sum);
                }
            });
        } catch (IOException e) {
            return out;
        }
        return out;
    }

    /**
     * (comm, user + system CPU ms) from a {@code /proc/.../stat} file, or null when it is gone (the process or thread
     * ended). comm may hold spaces and parentheses, so the fields are cut at the last ')'.
     */
    private static Map.Entry<String, Long> nameAndCpuMs(Path stat) {
        try {
            String line = Files.readString(stat);
            int open = line.indexOf('(');
            int close = line.lastIndexOf(')');
            if (open < 0 || close < open) {
                return null;
            }
            // after "comm": state(0) ppid(1) pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(11) stime(12)
            String[] f = line.substring(close + 2).split(" ");
            return Map.entry(line.substring(open + 1, close), (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 1000 / TICKS_PER_SECOND);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
