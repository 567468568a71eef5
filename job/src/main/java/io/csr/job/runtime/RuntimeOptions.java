package io.csr.job.runtime;

import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;

import java.net.URI;
import java.nio.file.Path;
import java.util.Locale;

/**
 * How the job runs (parallelism, checkpoints, state, restarts, REST endpoint), read once from {@link CsrConfig}.
 * Separate from {@link io.csr.job.config.JobOptions}, which is what the operators compute with.
 *
 * @param bufferTimeoutMs FLINK_BUFFER_TIMEOUT_MS: how long a record may wait in a network buffer at each shuffle
 * @param checkpointDir   a URI, e.g. file:///…/checkpoints or s3://bucket/ckpt
 * @param savepointDir    a URI, like checkpointDir
 * @param stateBackend    hashmap or rocksdb
 * @param managedMemoryMb FLINK_MANAGED_MEMORY_MB: the embedded TaskManager's managed memory (RocksDB block cache, write
 *                        buffers)
 */
public record RuntimeOptions(String jobName, int parallelism, int maxParallelism, long checkpointIntervalMs,
                             long checkpointTimeoutMs, long bufferTimeoutMs, String checkpointDir, String savepointDir,
                             String stateBackend, long managedMemoryMb, int restartAttempts, long restartDelayMs, URI restUrl) {
    /** Each read validates its key and names it on error. */
    public static RuntimeOptions from(CsrConfig config) {
        String jobName = config.get(ConfigKey.JOB_NAME);
        int parallelism = (int) config.getLong(ConfigKey.JOB_PARALLELISM, 1, 1024);
        int maxParallelism = (int) config.getLong(ConfigKey.MAX_PARALLELISM, 1, 32_768);
        if (maxParallelism < parallelism) {
            throw new IllegalArgumentException("MAX_PARALLELISM=" + maxParallelism + " is below JOB_PARALLELISM=" + parallelism
                    + "; raise MAX_PARALLELISM (it can never change once checkpoints exist) or lower JOB_PARALLELISM");
        }
        long checkpointIntervalMs = config.getLong(ConfigKey.CHECKPOINT_INTERVAL_MS, 100, 3_600_000);
        long checkpointTimeoutMs = config.getLong(ConfigKey.CHECKPOINT_TIMEOUT_MS, 1_000, 24 * 3_600_000L);
        long bufferTimeoutMs = config.getLong(ConfigKey.FLINK_BUFFER_TIMEOUT_MS, 0, 10_000);
        String stateDir = stateDir(config);
        String checkpointDir = toUri(config.get(ConfigKey.CHECKPOINT_DIR).replace("<CSR_STATE_DIR>", stateDir));
        String savepointDir = toUri(config.get(ConfigKey.SAVEPOINT_DIR).replace("<CSR_STATE_DIR>", stateDir));
        String stateBackend = config.get(ConfigKey.STATE_BACKEND).trim().toLowerCase(Locale.ROOT);
        if (!stateBackend.equals("hashmap") && !stateBackend.equals("rocksdb")) {
            throw new IllegalArgumentException("STATE_BACKEND='" + stateBackend + "' is not supported; use hashmap or rocksdb");
        }
        return new RuntimeOptions(jobName, parallelism, maxParallelism, checkpointIntervalMs, checkpointTimeoutMs,
                bufferTimeoutMs, checkpointDir, savepointDir, stateBackend,
                config.getLong(ConfigKey.FLINK_MANAGED_MEMORY_MB, 64, 1_048_576),
                config.getInt(ConfigKey.JOB_RESTART_ATTEMPTS),
                config.getLong(ConfigKey.JOB_RESTART_DELAY_MS, 0, 3_600_000),
                restUrl(config.get(ConfigKey.FLINK_REST_URL)));
    }

    private static URI restUrl(String rest) {
        URI url;
        try {
            url = URI.create(rest);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("FLINK_REST_URL='" + rest + "' is not a URL; use e.g. http://127.0.0.1:8081", e);
        }
        if (url.getHost() == null || url.getPort() < 0) {
            throw new IllegalArgumentException("FLINK_REST_URL='" + rest + "' needs a host and a port, e.g. http://127.0.0.1:8081");
        }
        return url;
    }

    /** CSR_STATE_DIR, {@code <repo>} standing for the checkout bin/csr names in {@code -Dcsr.root} (else the working directory). */
    public static String stateDir(CsrConfig config) {
        return config.stateDir(Path.of(System.getProperty("csr.root", "")).toAbsolutePath()).toString();
    }

    /** Plain paths become absolute file: URIs; URIs with a scheme stay as they are. */
    static String toUri(String value) {
        String v = value.trim();
        if (v.matches("[a-zA-Z][a-zA-Z0-9+.-]*://.*")) {
            return v;
        }
        return Path.of(v).toAbsolutePath().normalize().toUri().toString();
    }
}
