package io.csr.perf.soak;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/** The faults of the single-machine topology, and the seeded plan of when which one happens. */
enum Fault {
    JOB_KILL("kill -9 of the embedded job, restarted"),
    GATEWAY_KILL("kill -9 of the gateway, restarted"),
    CLICKHOUSE_KILL("kill -9 of ClickHouse, restarted"),
    REDIS_KILL("kill -9 of Redis, restarted with its append-only file"),
    REDIS_EMPTY("kill -9 of Redis, restarted empty (history lost)"),
    NATS_KILL("kill -9 of NATS, restarted (JetStream file store kept)"),
    POSTGRES_KILL("kill -9 of the PostgreSQL postmaster, restarted"),
    CLICKHOUSE_STALL("SIGSTOP of ClickHouse for seconds, then SIGCONT"),
    REDIS_STALL("SIGSTOP of Redis for seconds, then SIGCONT"),
    BURST("10x traffic for 10 s"),
    CHECKPOINT_DISK_FULL("the job's checkpoint file system (a small tmpfs of its own) filled up for seconds, then freed"),
    CLICKHOUSE_MERGE_KILL("kill -9 of ClickHouse while system.merges shows a merge of the soak's tables (OPTIMIZE … FINAL), restarted");

    final String description;

    Fault(String description) {
        this.description = description;
    }

    /** One planned fault: when (seconds after traffic started), what, and how long it lasts (down time or stall). */
    record Planned(int index, double atSeconds, Fault fault, double seconds) {
    }

    /**
     * K faults at seeded random times in [warm-up, end − settle margin], kinds dealt round-robin from a seeded shuffle
     * so any K ≥ 12 covers every kind; stalls last 3–15 s, a full checkpoint disk 10–30 s, kills stay down 0–3 s before
     * the restart.
     */
    static List<Planned> plan(int k, double minutes, long seed) {
        Random r = new Random(seed);
        double from = Math.min(30, minutes * 60 * 0.15);
        double to = Math.max(from + 1, minutes * 60 - 20);
        List<Double> times = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            times.add(from + r.nextDouble() * (to - from));
        }
        Collections.sort(times);
        List<Fault> deck = new ArrayList<>();
        List<Planned> out = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            if (deck.isEmpty()) {
                deck.addAll(List.of(values()));
                Collections.shuffle(deck, r);
            }
            Fault f = deck.remove(0);
            double secs = switch (f) {
                case CLICKHOUSE_STALL, REDIS_STALL -> 3 + r.nextInt(13);
                case BURST -> 10;
                case CHECKPOINT_DISK_FULL -> 10 + r.nextInt(21);
                default -> r.nextInt(4);
            };
            out.add(new Planned(i + 1, times.get(i), f, secs));
        }
        return out;
    }
}
