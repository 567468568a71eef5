package io.csr.common.migrate;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.postgres.PostgresSettings;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

/** Entry points for both databases, used by {@code csr migrate}/{@code csr up} and by tests for their namespaces. */
public final class Migrations {
    private Migrations() {
    }

    public static MigrationRunner clickHouse(ClickHouseAccess clickHouse, Path sqlRoot, Consumer<String> progress) {
        return new MigrationRunner(new ClickHouseMigrationTarget(clickHouse), sqlRoot, progress);
    }

    /**
     * As above, with one runner at a time per ClickHouse database across every machine: a PostgreSQL advisory lock
     * ({@link ClickHouseMigrationLock}), what {@code csr migrate} uses.
     */
    public static MigrationRunner clickHouse(ClickHouseAccess clickHouse, Path sqlRoot, Consumer<String> progress, PostgresSettings lockIn) {
        return new MigrationRunner(new ClickHouseMigrationTarget(clickHouse,
                () -> ClickHouseMigrationLock.acquire(lockIn, clickHouse.database(), progress)), sqlRoot, progress);
    }

    public static MigrationRunner postgres(PostgresSettings pg, Path sqlRoot, Consumer<String> progress) {
        return new MigrationRunner(new PostgresMigrationTarget(pg::connectUnchecked, pg.schema(), pg.url()), sqlRoot, progress);
    }

    /**
     * The {@code sql/} folder: {@code -Dcsr.root} when set, else the first ancestor of the working directory holding
     * {@code sql/clickhouse} (so tests in a module folder find the repository's migrations).
     */
    public static Path sqlRoot() {
        String root = System.getProperty("csr.root");
        if (root != null) {
            return Path.of(root).resolve("sql");
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("sql").resolve("clickhouse"))) {
                return p.resolve("sql");
            }
        }
        throw new MigrationException("cannot find the sql/ folder above " + Path.of("").toAbsolutePath() + "; set -Dcsr.root=<repository>");
    }
}
