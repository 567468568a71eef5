package io.csr.job.cluster;

import io.csr.job.cluster.node.ClickHouseLayout;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * What {@code csr cluster up} was asked for, remembered in {@code <state>/cluster/topology.properties} so that
 * {@code status} and {@code down} act on the same nodes without being told again.
 *
 * @param ha       {@code --ha}: ClickHouse replicas (and, later, the other tiers' clusters) beside Flink
 * @param clickHouse the ClickHouse layout when {@code ha}
 */
public record TopologyChoice(boolean ha, ClickHouseLayout clickHouse) {
    static final String FILE = "cluster/topology.properties";

    public static TopologyChoice flinkOnly() {
        return new TopologyChoice(false, null);
    }

    public static TopologyChoice ha(ClickHouseLayout layout) {
        return new TopologyChoice(true, layout);
    }

    void save(Path stateDir) throws IOException {
        Properties p = new Properties();
        p.setProperty("ha", String.valueOf(ha));
        if (ha) {
            p.setProperty("clickhouse.cluster", clickHouse.cluster());
            p.setProperty("clickhouse.shards", String.valueOf(clickHouse.shards()));
            p.setProperty("clickhouse.replicas", String.valueOf(clickHouse.replicas()));
            p.setProperty("clickhouse.httpBase", String.valueOf(clickHouse.httpBase()));
            p.setProperty("clickhouse.tcpBase", String.valueOf(clickHouse.tcpBase()));
            p.setProperty("clickhouse.interserverBase", String.valueOf(clickHouse.interserverBase()));
            p.setProperty("clickhouse.zookeeperRoot", clickHouse.zookeeperRoot());
        }
        Path f = stateDir.resolve(FILE);
        Files.createDirectories(f.getParent());
        try (Writer w = Files.newBufferedWriter(f)) {
            p.store(w, "written by csr cluster up; read by csr cluster status and down");
        }
    }

    /** What the last {@code up} started; Flink only when nothing was recorded. */
    static TopologyChoice load(Path stateDir) throws IOException {
        Path f = stateDir.resolve(FILE);
        if (!Files.isRegularFile(f)) {
            return flinkOnly();
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(f)) {
            p.load(r);
        }
        if (!Boolean.parseBoolean(p.getProperty("ha"))) {
            return flinkOnly();
        }
        try {
            return ha(new ClickHouseLayout(p.getProperty("clickhouse.cluster"),
                    Integer.parseInt(p.getProperty("clickhouse.shards")), Integer.parseInt(p.getProperty("clickhouse.replicas")),
                    Integer.parseInt(p.getProperty("clickhouse.httpBase")), Integer.parseInt(p.getProperty("clickhouse.tcpBase")),
                    Integer.parseInt(p.getProperty("clickhouse.interserverBase")), p.getProperty("clickhouse.zookeeperRoot")));
        } catch (RuntimeException e) {
            throw new IllegalStateException(f + " is damaged (" + e.getMessage() + "); delete it and run bin/csr cluster up --ha again", e);
        }
    }
}
