package io.csr.common.clickhouse;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Which endpoint of CLICKHOUSE_URL a process talks to, shared by every {@link ClickHouseAccess} of the process with the
 * same endpoints and database (the sink's committer, its late corrections and the lease each open their own access,
 * and must read what the others wrote). Starts on the first endpoint; moves only by a failover and stays there.
 */
final class ActiveReplica {
    private static final ConcurrentHashMap<String, ActiveReplica> SHARED = new ConcurrentHashMap<>();

    private volatile int index;
    private volatile long failovers;
    /** False after a failover to a replica that still lacked parts of the log, until it is seen holding them. */
    private volatile boolean caughtUp = true;

    static ActiveReplica of(ClickHouseSettings settings) {
        return SHARED.computeIfAbsent(settings.url() + "|" + settings.database(), k -> new ActiveReplica());
    }

    int index() {
        return index;
    }

    long failovers() {
        return failovers;
    }

    boolean caughtUp() {
        return caughtUp;
    }

    synchronized void switchTo(int endpoint, boolean holdsEveryPart) {
        caughtUp = holdsEveryPart;
        index = endpoint;
        failovers++;
    }

    synchronized void markCaughtUp(int endpoint) {
        if (index == endpoint) {
            caughtUp = true;
        }
    }
}
