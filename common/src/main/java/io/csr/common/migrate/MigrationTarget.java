package io.csr.common.migrate;

import java.util.Map;

/** A database that migrations are applied to, with its own {@code schema_migrations} ledger. */
public interface MigrationTarget {
    /** "clickhouse" or "postgres": also the folder name under {@code sql/}. */
    String kind();

    /** Where, for messages: URL plus database or schema. */
    String describe();

    /** Creates the database/schema and the ledger table when missing. */
    void prepare();

    /** Applied migrations by version. */
    Map<Integer, AppliedMigration> applied();

    /** Held while migrations are read and applied, so two runners never apply at once; none by default. */
    default AutoCloseable lock() {
        return () -> { };
    }

    /** Runs the statements and records the migration in the ledger. */
    void apply(Migration migration);

    record AppliedMigration(int version, String name, String checksum, String appliedAt) {
    }
}
