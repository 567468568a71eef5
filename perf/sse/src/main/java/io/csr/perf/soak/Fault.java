package io.csr.perf.soak;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * The faults of both topologies, and the seeded plan of when which one happens. The single topology (one process of
 * each kind) has the first twelve; the HA topology ({@code --topology ha}) has the four HA kinds — one ClickHouse replica,
 * one Redis master, one NATS node, one gateway at a time — and of the single kinds those that mean the same there
 * ({@link #HA}). Not in HA: the kills of the one ClickHouse / Redis / NATS / gateway (there is no "the one": the HA
 * kinds kill one of several), Redis restarted empty (a Redis Cluster node restarts empty anyway: no append-only file, it
 * resyncs from its master), the stalls and the kill during a merge (not wired to the replicas yet). The HA kinds make
 * no sense in the single topology (nothing takes over).
 */
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
    CLICKHOUSE_MERGE_KILL("kill -9 of ClickHouse while system.merges shows a merge of the soak's tables (OPTIMIZE … FINAL), restarted"),
    CLICKHOUSE_REPLICA_KILL("HA: kill -9 of one of the two ClickHouse replicas (s1r1 first, the one every process uses, then they "
            + "alternate; the job and the gateways fail over to the other), restarted after the down time; it catches up by replication"),
    REDIS_MASTER_KILL("HA: kill -9 of the Redis Cluster master serving one company's updates stream (the seed picks the company): "
            + "its replica takes over after the node timeout; the killed node is restarted and rejoins as a replica"),
    NATS_NODE_KILL("HA: kill -9 of one of the three NATS nodes (the stream at R3 keeps a majority; clients reconnect to another), "
            + "restarted with its JetStream store"),
    GATEWAY_NODE_KILL("HA: kill -9 of one of the gateways behind HAProxy: its SSE clients resume through HAProxy on another by "
            + "Last-Event-ID; restarted after the down time");

    /** The kinds of the single topology, in declaration order (the deck of earlier seeds, unchanged). */
    static final List<Fault> SINGLE = List.of(JOB_KILL, GATEWAY_KILL, CLICKHOUSE_KILL, REDIS_KILL, REDIS_EMPTY, NATS_KILL, POSTGRES_KILL,
            CLICKHOUSE_STALL, REDIS_STALL, BURST, CHECKPOINT_DISK_FULL, CLICKHOUSE_MERGE_KILL);
    /** The kinds only the HA topology has: one of several nodes at a time. */
    static final List<Fault> HA_ONLY = List.of(CLICKHOUSE_REPLICA_KILL, REDIS_MASTER_KILL, NATS_NODE_KILL, GATEWAY_NODE_KILL);
    /** The single kinds that mean the same in the HA topology (the embedded job, PostgreSQL and the checkpoint disk are one there too). */
    static final List<Fault> HA_SHARED = List.of(JOB_KILL, POSTGRES_KILL, BURST, CHECKPOINT_DISK_FULL);
    static final List<Fault> HA = java.util.stream.Stream.concat(HA_ONLY.stream(), HA_SHARED.stream()).toList();

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
     * the restart (a gateway, Redis master or ClickHouse replica of the HA topology 2–8 s, so that the others carry on
     * meanwhile).
     */
    static List<Planned> plan(int k, double minutes, long seed) {
        return plan(k, minutes, seed, false);
    }

    /**
     * The plan of {@link #plan(int, double, long)} for either topology. With {@code ha} each round of the deck deals the
     * four HA kinds first (shuffled), then the shared ones (shuffled): any K ≥ 4 has every HA kind, K ≥ 8 every kind.
     */
    static List<Planned> plan(int k, double minutes, long seed, boolean ha) {
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
                if (ha) {
                    List<Fault> only = new ArrayList<>(HA_ONLY);
                    List<Fault> shared = new ArrayList<>(HA_SHARED);
                    Collections.shuffle(only, r);
                    Collections.shuffle(shared, r);
                    deck.addAll(only);
                    deck.addAll(shared);
                } else {
                    deck.addAll(SINGLE);
                    Collections.shuffle(deck, r);
                }
            }
            Fault f = deck.remove(0);
            double secs = switch (f) {
                case CLICKHOUSE_STALL, REDIS_STALL -> 3 + r.nextInt(13);
                case BURST -> 10;
                case GATEWAY_NODE_KILL, REDIS_MASTER_KILL, CLICKHOUSE_REPLICA_KILL, NATS_NODE_KILL -> 2 + r.nextInt(7);
                case CHECKPOINT_DISK_FULL -> 10 + r.nextInt(21);
                default -> r.nextInt(4);
            };
            out.add(new Planned(i + 1, times.get(i), f, secs));
        }
        return out;
    }
}
