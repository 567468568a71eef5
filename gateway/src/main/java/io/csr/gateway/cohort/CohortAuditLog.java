package io.csr.gateway.cohort;

import io.csr.common.postgres.PostgresSettings;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * Audit trail of the cohort API in PostgreSQL ({@code cohort_audit_log}): who, company, cohort, endpoint, when,
 * status. Entries are queued and written in batches by one background thread over one connection, so a cohort query
 * never waits for PostgreSQL and keeps answering while it is down; the queue holds {@value #CAPACITY} entries (about a
 * minute of a busy node), beyond that entries are dropped, counted and logged — never silently.
 */
public final class CohortAuditLog implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(CohortAuditLog.class.getName());
    static final int CAPACITY = 50_000;
    private static final int BATCH = 500;

    /** One audited call. {@code cohortId} is null for company-wide calls. */
    public record Entry(Instant at, String companyId, String subject, Long cohortId, String method, String endpoint, int status, String detail) {
    }

    private final PostgresSettings postgres;
    private final BlockingQueue<Entry> queue = new ArrayBlockingQueue<>(CAPACITY);
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong written = new AtomicLong();
    private final Thread writer;
    private volatile boolean closing;

    public CohortAuditLog(PostgresSettings postgres) {
        this.postgres = postgres;
        this.writer = Thread.ofPlatform().daemon().name("csr-cohort-audit").start(this::writeLoop);
    }

    void record(Entry e) {
        if (!queue.offer(e) && dropped.incrementAndGet() % 1_000 == 1) {
            LOG.warning("cohort audit queue full (" + CAPACITY + " entries; is PostgreSQL reachable at " + postgres.url()
                    + "?): " + dropped.get() + " entries dropped so far");
        }
    }

    long dropped() {
        return dropped.get();
    }

    long written() {
        return written.get();
    }

    /** The company's newest entries first. */
    List<Map<String, Object>> newest(String companyId, int limit) throws SQLException {
        List<Map<String, Object>> out = new ArrayList<>();
        try (Connection c = postgres.connect();
             PreparedStatement ps = c.prepareStatement("SELECT at, company_id, subject, cohort_id, method, endpoint, status, detail"
                     + " FROM cohort_audit_log WHERE company_id = ? ORDER BY at DESC, id DESC LIMIT ?")) {
            ps.setString(1, companyId);
            ps.setInt(2, limit);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("at", rs.getTimestamp(1).toInstant().toString());
                    m.put("companyId", rs.getString(2));
                    m.put("subject", rs.getString(3));
                    long cohort = rs.getLong(4);
                    m.put("cohortId", rs.wasNull() ? null : cohort);
                    m.put("method", rs.getString(5));
                    m.put("endpoint", rs.getString(6));
                    m.put("status", rs.getInt(7));
                    m.put("detail", rs.getString(8));
                    out.add(m);
                }
            }
        }
        return out;
    }

    private void writeLoop() {
        List<Entry> batch = new ArrayList<>(BATCH);
        Connection c = null;
        while (!(closing && queue.isEmpty() && batch.isEmpty())) {
            try {
                if (batch.isEmpty()) {
                    Entry first = queue.poll(200, TimeUnit.MILLISECONDS);
                    if (first == null) {
                        continue;
                    }
                    batch.add(first);
                    queue.drainTo(batch, BATCH - 1);
                }
                if (c == null) {
                    c = postgres.connect();
                }
                insert(c, batch);
                written.addAndGet(batch.size());
                batch.clear();
            } catch (InterruptedException e) {
                closing = true;
            } catch (SQLException e) {
                LOG.warning("cohort audit: " + batch.size() + " entries not written yet (" + e.getMessage()
                        + "); retrying in 2 s. Check PostgreSQL at " + postgres.url() + " and migrations (bin/csr migrate).");
                close(c);
                c = null;
                if (closing) {
                    LOG.warning("cohort audit: shutting down with " + (batch.size() + queue.size()) + " entries unwritten");
                    return;
                }
                sleep(2_000);
            }
        }
        close(c);
    }

    private static void insert(Connection c, List<Entry> batch) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO cohort_audit_log"
                + " (at, company_id, subject, cohort_id, method, endpoint, status, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
            for (Entry e : batch) {
                ps.setTimestamp(1, Timestamp.from(e.at()));
                ps.setString(2, e.companyId());
                ps.setString(3, e.subject());
                if (e.cohortId() == null) {
                    ps.setNull(4, Types.BIGINT);
                } else {
                    ps.setLong(4, e.cohortId());
                }
                ps.setString(5, e.method());
                ps.setString(6, e.endpoint());
                ps.setInt(7, e.status());
                ps.setString(8, e.detail());
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void close(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // the connection is being dropped anyway
            }
        }
    }

    /** Writes what is queued (up to 5 s), then stops the writer. */
    @Override
    public void close() {
        closing = true;
        try {
            writer.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
