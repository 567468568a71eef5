package io.csr.gateway.cohort;

import javax.sql.DataSource;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * Audit trail of the cohort API in PostgreSQL ({@code cohort_audit_log}): who, company, cohort, endpoint, when,
 * status. Entries are queued and written in batches by one background thread (a pooled connection per batch).
 *
 * <p>An accepted call (status below 400) is answered only once its entry is committed ({@link #recordDurably}: group
 * commit — every caller waiting at that moment goes in the same batch, one INSERT and one commit), so its row survives
 * a kill -9 of the gateway that served it; when PostgreSQL cannot take it within {@link #DURABLE_WAIT} the call is
 * answered 503 instead. Why not a journal in Redis drained later: PostgreSQL already holds what the cohort API reads
 * and writes (cohorts, memberships), so waiting for it adds no new way to fail, and one commit per batch costs about a
 * millisecond, where a journal would need a drainer, its claims after a crash and de-duplication of replays.
 * Refusals (4xx, 5xx) are recorded without waiting ({@link #record}): a cohort call keeps its own status when
 * PostgreSQL is down; their queue holds {@value #CAPACITY} entries (about a minute of a busy node), beyond that entries
 * are dropped, counted and logged — never silently.
 */
public final class CohortAuditLog implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(CohortAuditLog.class.getName());
    static final int CAPACITY = 50_000;
    private static final int BATCH = 500;

    /** One audited call. {@code cohortId} is null for company-wide calls. */
    public record Entry(Instant at, String companyId, String subject, Long cohortId, String method, String endpoint, int status, String detail) {
    }

    private final DataSource postgres;
    private final String where;
    /** Longest wait of an accepted call for its entry's commit. */
    static final java.time.Duration DURABLE_WAIT = java.time.Duration.ofSeconds(5);

    /** An entry in the queue; {@code committed} is null for one nobody waits for. */
    private record Pending(Entry entry, CompletableFuture<Void> committed) {
    }

    /** The entry of an accepted call could not be committed in time: the call must not be answered as accepted. */
    static final class Unavailable extends Exception {
        Unavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final BlockingQueue<Pending> queue = new ArrayBlockingQueue<>(CAPACITY);
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong written = new AtomicLong();
    private final Thread writer;
    private volatile boolean closing;

    /** {@code where}: the PostgreSQL the pool reaches, for log lines. */
    public CohortAuditLog(DataSource postgres, String where) {
        this.postgres = postgres;
        this.where = where;
        this.writer = Thread.ofPlatform().daemon().name("csr-cohort-audit").start(this::writeLoop);
    }

    /** Queues a refusal's entry and returns at once. */
    void record(Entry e) {
        if (!queue.offer(new Pending(e, null)) && dropped.incrementAndGet() % 1_000 == 1) {
            LOG.warning("cohort audit queue full (" + CAPACITY + " entries; is PostgreSQL reachable at " + where
                    + "?): " + dropped.get() + " entries dropped so far");
        }
    }

    /** Returns once the entry is committed in PostgreSQL; throws when that did not happen within {@link #DURABLE_WAIT}. */
    void recordDurably(Entry e) throws Unavailable {
        CompletableFuture<Void> committed = new CompletableFuture<>();
        try {
            if (!queue.offer(new Pending(e, committed), DURABLE_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new Unavailable("cohort audit queue full (" + CAPACITY + " entries)", null);
            }
            committed.get(DURABLE_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new Unavailable("interrupted while the audit entry was written", ex);
        } catch (ExecutionException ex) {
            throw new Unavailable("the audit entry was not written: " + ex.getCause().getMessage(), ex.getCause());
        } catch (TimeoutException ex) {
            throw new Unavailable("the audit entry was not written within " + DURABLE_WAIT.toSeconds() + " s", ex);
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
        try (Connection c = postgres.getConnection();
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
        List<Pending> batch = new ArrayList<>(BATCH);
        while (!(closing && queue.isEmpty() && batch.isEmpty())) {
            try {
                if (batch.isEmpty()) {
                    Pending first = queue.poll(200, TimeUnit.MILLISECONDS);
                    if (first == null) {
                        continue;
                    }
                    batch.add(first);
                    queue.drainTo(batch, BATCH - 1);
                }
                try (Connection c = postgres.getConnection()) { // borrowed per batch: the pool is shared with requests
                    insert(c, batch);
                }
                written.addAndGet(batch.size());
                batch.forEach(p -> {
                    if (p.committed() != null) {
                        p.committed().complete(null);
                    }
                });
                batch.clear();
            } catch (InterruptedException e) {
                closing = true;
            } catch (SQLException e) {
                // whoever waits is answered now (503); only entries nobody waits for are tried again
                batch.removeIf(p -> p.committed() != null && p.committed().completeExceptionally(e));
                LOG.warning("cohort audit: " + batch.size() + " entries not written yet (" + e.getMessage()
                        + "); retrying in 2 s. Check PostgreSQL at " + where + " and migrations (bin/csr migrate).");
                if (closing) {
                    LOG.warning("cohort audit: shutting down with " + (batch.size() + queue.size()) + " entries unwritten");
                    return;
                }
                sleep(2_000);
            }
        }
    }

    private static void insert(Connection c, List<Pending> batch) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO cohort_audit_log"
                + " (at, company_id, subject, cohort_id, method, endpoint, status, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
            for (Pending p : batch) {
                Entry e = p.entry();
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
