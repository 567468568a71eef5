package io.csr.job.lease;

import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;

import java.io.Serializable;
import java.util.UUID;

/**
 * Where the job's lease lives and what it is called. Serializable: the ClickHouse sink carries it to the TaskManager
 * that runs the sink's subtask 0, which holds the lease while the job runs.
 *
 * @param jdbcUrl    PostgreSQL (POSTGRES_URL)
 * @param user       POSTGRES_USER
 * @param password   POSTGRES_PASSWORD
 * @param schema     POSTGRES_SCHEMA, where table {@code job_leases} is created when missing
 * @param name       what is leased: {@code <CLICKHOUSE_DATABASE>/<CLICKHOUSE_SINK_ID>}, the sink's commit ledger
 * @param holder     this deployment of the job: drawn once when the job graph is built, so every restart and
 *                   failover of the same job (the same serialized graph, also after a JobManager failover) holds the
 *                   lease again, while a second submission or a second embedded process draws its own and is refused
 * @param ttlSeconds JOB_LEASE_TTL_SECONDS: how long the lease outlives its holder's last renewal
 */
public record LeaseSettings(String jdbcUrl, String user, String password, String schema, String name, String holder,
                            long ttlSeconds) implements Serializable {

    public static LeaseSettings from(CsrConfig config) {
        return new LeaseSettings(config.get(ConfigKey.POSTGRES_URL), config.get(ConfigKey.POSTGRES_USER),
                config.get(ConfigKey.POSTGRES_PASSWORD), config.get(ConfigKey.POSTGRES_SCHEMA),
                config.get(ConfigKey.CLICKHOUSE_DATABASE) + "/" + config.get(ConfigKey.CLICKHOUSE_SINK_ID),
                UUID.randomUUID().toString(), config.getLong(ConfigKey.JOB_LEASE_TTL_SECONDS, 3, 3_600));
    }

    /** Renewed three times per TTL, so two renewals may fail (a PostgreSQL restart, a GC pause) before it lapses. */
    public long renewEveryMs() {
        return ttlSeconds * 1000 / 3;
    }

    @Override
    public String toString() {
        return "LeaseSettings[" + name + " in " + jdbcUrl + ", holder " + holder + ", ttl " + ttlSeconds + " s]";
    }
}
