package io.csr.job.testing;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A {@link ClickHouseClusterFixture} shared by the tests of one class, registered as
 * {@code @RegisterExtension static final ClickHouseClusterExtension clickhouse = new ClickHouseClusterExtension("it_x_", 1, 2);}:
 * started before the first test, in a temporary directory of its own and under a cluster name of the prefix and a
 * random suffix (its own namespace on a shared ZooKeeper); stopped, and the directory deleted, after the last.
 */
public final class ClickHouseClusterExtension implements BeforeAllCallback, AfterAllCallback {
    private final String prefix;
    private final int shards;
    private final int replicas;
    private Path dir;
    private ClickHouseClusterFixture cluster;

    public ClickHouseClusterExtension(String prefix, int shards, int replicas) {
        this.prefix = prefix;
        this.shards = shards;
        this.replicas = replicas;
    }

    /** The running cluster; only from a test (or a {@code @BeforeEach}) of the class that registered it. */
    public ClickHouseClusterFixture cluster() {
        if (cluster == null) {
            throw new IllegalStateException("the ClickHouse cluster " + prefix + "* is not running: register the extension "
                    + "on a static field (@RegisterExtension) and use it from the tests, not from a static initialiser");
        }
        return cluster;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        dir = Files.createTempDirectory(prefix);
        cluster = new ClickHouseClusterFixture(dir, prefix + Long.toHexString(System.nanoTime() & 0xffffff), shards, replicas);
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        try {
            if (cluster != null) {
                cluster.close();
            }
        } finally {
            cluster = null;
            if (dir != null) {
                LocalServers.deleteTree(dir);
            }
        }
    }
}
