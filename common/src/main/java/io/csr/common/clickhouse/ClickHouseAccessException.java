package io.csr.common.clickhouse;

/**
 * A ClickHouse call failed. {@link #retriable()} tells a transient failure (connection refused, timeout, server
 * overloaded) from a permanent one (bad SQL, unknown table, unparsable row) that retrying cannot fix.
 */
public final class ClickHouseAccessException extends RuntimeException {
    private final boolean retriable;
    private final int serverCode;

    public ClickHouseAccessException(String message, Throwable cause, boolean retriable, int serverCode) {
        super(message, cause);
        this.retriable = retriable;
        this.serverCode = serverCode;
    }

    public boolean retriable() {
        return retriable;
    }

    /** ClickHouse error code, or 0 when the failure was not reported by the server. */
    public int serverCode() {
        return serverCode;
    }
}
