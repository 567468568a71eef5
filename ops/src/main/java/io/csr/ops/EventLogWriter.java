package io.csr.ops;

import io.csr.common.postgres.PostgresSettings;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;

/**
 * Records published events in PostgreSQL {@code event_log} the way the platform's producers do (issue 9's decision:
 * producers record what they publish; backfills and the analytics views read it): the Contract 1 subject (without a
 * test's subject prefix), eventId, company, occurredAt and the payload byte for byte. Batched; a repeated eventId is
 * ignored, so re-recording is harmless. The caller closes it, which writes what is pending.
 */
final class EventLogWriter implements AutoCloseable {
    static final int BATCH = 200;

    private final Connection conn;
    private final PreparedStatement insert;
    private int pending;
    private long written;

    private EventLogWriter(Connection conn) throws SQLException {
        this.conn = conn;
        this.insert = conn.prepareStatement("INSERT INTO event_log (event_id, subject, company_id, occurred_at, payload) "
                + "VALUES (?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING");
    }

    static EventLogWriter open(PostgresSettings pg) {
        Connection c = pg.connectUnchecked();
        try {
            return new EventLogWriter(c);
        } catch (SQLException e) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // reporting the first failure
            }
            throw new IllegalStateException("cannot prepare the event_log insert in schema " + pg.schema() + ": " + e.getMessage()
                    + " (run bin/csr migrate first)", e);
        }
    }

    void add(String eventId, String subject, String companyId, Instant occurredAt, String payload) throws SQLException {
        insert.setString(1, eventId);
        insert.setString(2, subject);
        insert.setString(3, companyId);
        insert.setTimestamp(4, Timestamp.from(occurredAt));
        insert.setString(5, payload);
        insert.addBatch();
        if (++pending >= BATCH) {
            flush();
        }
    }

    void flush() throws SQLException {
        if (pending > 0) {
            insert.executeBatch();
            written += pending;
            pending = 0;
        }
    }

    long written() {
        return written;
    }

    @Override
    public void close() throws SQLException {
        try {
            flush();
        } finally {
            insert.close();
            conn.close();
        }
    }
}
