package io.csr.job.cluster.node;

import java.util.OptionalLong;

/**
 * What {@code csr cluster status} shows of one process: its name, its role in the topology (e.g. {@code replica 2 of
 * shard 1}), whether it is up, its lag where the kind has one (ClickHouse: replication queue and absolute delay), its
 * resident memory, and a free-text detail (pid, ports, log).
 */
public record NodeStatus(String name, String role, boolean up, String lag, OptionalLong rssBytes, String detail) {
    public NodeStatus {
        lag = lag == null ? "" : lag;
        detail = detail == null ? "" : detail;
    }

    public static NodeStatus down(String name, String role, String detail) {
        return new NodeStatus(name, role, false, "", OptionalLong.empty(), detail);
    }

    public String line() {
        String rss = rssBytes.isPresent() ? (rssBytes.getAsLong() >> 20) + " MiB" : "-";
        return String.format("%-22s %-30s %-5s %-28s %9s  %s", name, role, up ? "up" : "DOWN", lag.isEmpty() ? "-" : lag, rss, detail);
    }

    public static String header() {
        return String.format("%-22s %-30s %-5s %-28s %9s  %s", "NODE", "ROLE", "STATE", "LAG", "RSS", "DETAIL");
    }
}
