package io.csr.gateway.cohort.rule;

import com.fasterxml.jackson.databind.ObjectMapper;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Keeps the membership of rule cohorts current. A recompute evaluates the rule ({@link RuleEvaluator}) and writes the
 * difference to {@code user_cohorts} as ordinary membership stints — a user who no longer matches gets {@code left_at},
 * a new match a new stint — the rows a static cohort's {@code PUT /cohorts/{id}/members} writes, so the job replicates
 * both kinds alike and every cohort endpoint serves both unchanged. A recompute that changes nothing writes nothing.
 *
 * <p>When: at once when a rule is created or changed (in the request), soon after a participant of the company is
 * written through the API ({@link #companyChanged}, on a background thread, coalesced per company), and every
 * {@code COHORT_RULE_REFRESH_SECONDS} for all live rule cohorts — which is what picks up journey flags and behaviour
 * (they arrive through the job, not through the gateway) and changes made by SQL. The scheduled pass runs under a
 * PostgreSQL advisory lock, so with several gateways one of them does it per period.
 */
public final class RuleCohorts implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(RuleCohorts.class.getName());
    /**
     * Advisory lock of the scheduled pass: ("csrr" in ASCII, a hash of the schema), so deployments (and tests) in other
     * schemas of the same database never wait for each other's pass.
     */
    public static final int LOCK_CLASS = 0x63737272;
    private static final String LOCK_ARGS = "(" + LOCK_CLASS + ", hashtext(current_schema()))";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final DataSource postgres;
    private final RuleEvaluator evaluator;
    private final Duration every;
    private final ExecutorService background = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().daemon().name("csr-rule-cohorts").factory());
    private final Set<String> pending = ConcurrentHashMap.newKeySet();
    private volatile Thread scheduler;

    /** What one recompute did. */
    public record Change(long added, long removed, long members) {
    }

    /** A live rule cohort as stored. */
    record Stored(long id, String companyId, String ruleJson) {
    }

    public RuleCohorts(DataSource postgres, RuleEvaluator evaluator, Duration every) {
        this.postgres = postgres;
        this.evaluator = evaluator;
        this.every = every;
    }

    /** Starts the scheduled pass (not when the period is zero). */
    public RuleCohorts start() {
        if (!every.isZero()) {
            scheduler = Thread.ofVirtual().name("csr-rule-cohorts-schedule").start(this::schedule);
        }
        return this;
    }

    private void schedule() {
        try {
            while (!Thread.currentThread().isInterrupted()) {
                Thread.sleep(every);
                try {
                    refreshAll();
                } catch (Exception e) {
                    LOG.log(Level.WARNING, "rule cohort refresh failed (next try in " + every.toSeconds() + " s): " + e, e);
                }
            }
        } catch (InterruptedException e) {
            // shutting down
        }
    }

    /** Members of a rule now, without saving anything (POST /cohorts/preview). */
    public Set<String> preview(String companyId, Rule rule) throws SQLException {
        return evaluator.members(companyId, rule);
    }

    /**
     * Cohorts in flight at once in a scheduled pass, each on its own connection: a cohort is evaluated, then written,
     * by one worker, so at any moment the pass evaluates two, writes two, or does one of each. Writing is most of a
     * first pass (PostgreSQL inserting the new stints, one core per connection), so two writers use both cores of the
     * two-core machine the goal is measured on.
     */
    static final int PASS_WORKERS = 2;

    /**
     * What one scheduled pass did and where its time went: {@code evaluateNanos} and {@code writeNanos} are summed over
     * the cohorts ({@value #PASS_WORKERS} cohorts are in flight at a time, so they overlap each other and the wall
     * time). {@code cohorts} is -1 when the pass was skipped (another node held the lock).
     */
    public record Pass(int cohorts, long evaluateNanos, long writeNanos, long added, long removed) {
        static final Pass SKIPPED = new Pass(-1, 0, 0, 0, 0);
    }

    /**
     * Recomputes every live rule cohort, under the advisory lock (skipped when another node holds it); the number of
     * cohorts recomputed, or -1 when skipped.
     */
    public int refreshAll() throws SQLException {
        return refreshAllMeasured().cohorts();
    }

    /**
     * {@link #refreshAll()}, with the time per phase. {@value #PASS_WORKERS} workers take the cohorts in id order; the
     * first failure stops the others taking more and is thrown when they are done.
     */
    public Pass refreshAllMeasured() throws SQLException {
        try (Connection lock = postgres.getConnection()) {
            if (!advisoryLock(lock)) {
                return Pass.SKIPPED;
            }
            try {
                List<Stored> all = live(null);
                AtomicInteger next = new AtomicInteger();
                AtomicLong evaluating = new AtomicLong();
                AtomicLong writing = new AtomicLong();
                AtomicLong added = new AtomicLong();
                AtomicLong removed = new AtomicLong();
                AtomicReference<Throwable> failed = new AtomicReference<>();
                RuleEvaluator.Participants participants = new RuleEvaluator.Participants(); // one read per company and pass
                Runnable worker = () -> {
                    for (int i = next.getAndIncrement(); i < all.size() && failed.get() == null; i = next.getAndIncrement()) {
                        try {
                            long t0 = System.nanoTime();
                            Optional<Set<String>> members = evaluate(all.get(i), participants);
                            long t1 = System.nanoTime();
                            evaluating.addAndGet(t1 - t0);
                            if (members.isPresent()) {
                                write(all.get(i), members.get()).ifPresent(change -> {
                                    added.addAndGet(change.added());
                                    removed.addAndGet(change.removed());
                                });
                            }
                            writing.addAndGet(System.nanoTime() - t1);
                        } catch (Throwable e) {
                            failed.compareAndSet(null, e);
                        }
                    }
                };
                List<Thread> workers = new ArrayList<>();
                for (int w = 0; w < Math.min(PASS_WORKERS, all.size()); w++) {
                    workers.add(Thread.ofVirtual().name("csr-rule-cohorts-pass-" + w).start(worker));
                }
                for (Thread t : workers) {
                    try {
                        t.join();
                    } catch (InterruptedException e) {
                        failed.compareAndSet(null, e);
                        Thread.currentThread().interrupt();
                    }
                }
                rethrow(failed.get());
                return new Pass(all.size(), evaluating.get(), writing.get(), added.get(), removed.get());
            } finally {
                try (Statement st = lock.createStatement()) {
                    st.execute("SELECT pg_advisory_unlock" + LOCK_ARGS);
                }
            }
        }
    }

    private static void rethrow(Throwable e) throws SQLException {
        switch (e) {
            case null -> { }
            case SQLException sql -> throw sql;
            case RuntimeException r -> throw r;
            case Error err -> throw err;
            default -> throw new IllegalStateException("rule cohort pass interrupted", e);
        }
    }

    private static boolean advisoryLock(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_try_advisory_lock" + LOCK_ARGS)) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    /** A participant of the company changed: recompute its rule cohorts soon, on the background thread. */
    public void companyChanged(String companyId) {
        if (pending.add(companyId)) {
            background.submit(() -> {
                pending.remove(companyId);
                try {
                    for (Stored s : live(companyId)) {
                        recompute(s);
                    }
                } catch (Exception e) {
                    LOG.log(Level.WARNING, "rule cohorts of " + companyId + " not recomputed after a participant change"
                            + " (the scheduled pass will): " + e, e);
                }
            });
        }
    }

    /** Recomputes one cohort now; empty when it is gone or no longer a rule cohort. */
    public Optional<Change> recompute(long cohortId) throws SQLException {
        for (Stored s : select("c.id = ?", cohortId, null)) {
            return recompute(s);
        }
        return Optional.empty();
    }

    private List<Stored> live(String companyId) throws SQLException {
        return companyId == null ? select("true", null, null) : select("c.company_id = ?", null, companyId);
    }

    private List<Stored> select(String where, Long id, String companyId) throws SQLException {
        String sql = "SELECT c.id, c.company_id, c.rule::text FROM cohorts c WHERE c.rule IS NOT NULL AND c.deleted_at IS NULL AND "
                + where + " ORDER BY c.id";
        List<Stored> out = new ArrayList<>();
        try (Connection c = postgres.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            if (id != null) {
                ps.setLong(1, id);
            } else if (companyId != null) {
                ps.setString(1, companyId);
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Stored(rs.getLong(1), rs.getString(2), rs.getString(3)));
                }
            }
        }
        return out;
    }

    private Optional<Change> recompute(Stored s) throws SQLException {
        Optional<Set<String>> members = evaluate(s, null);
        return members.isEmpty() ? Optional.empty() : write(s, members.get());
    }

    /**
     * The members the stored rule holds for now, with the participants of {@code shared} when not null; empty (logged)
     * when this gateway cannot read the rule.
     */
    private Optional<Set<String>> evaluate(Stored s, RuleEvaluator.Participants shared) throws SQLException {
        Rule rule;
        try {
            rule = RuleParser.parse(JSON.readTree(s.ruleJson()), "rule");
        } catch (Exception e) {
            LOG.warning("cohort " + s.id() + " has a stored rule this gateway cannot read (" + e.getMessage()
                    + "); its membership is left as it is. Fix it with PUT /cohorts/" + s.id());
            return Optional.empty();
        }
        return Optional.of(evaluator.members(s.companyId(), rule, shared));
    }

    /**
     * Makes the open stints of the cohort equal {@code members}, in one transaction that locks the cohort row (as
     * every membership write does) and only if the rule is still the evaluated one: a rule changed meanwhile is
     * recomputed by its own change.
     */
    private Optional<Change> write(Stored s, Set<String> members) throws SQLException {
        try (Connection c = postgres.getConnection()) {
            c.setAutoCommit(false);
            try {
                try (PreparedStatement lock = c.prepareStatement("SELECT 1 FROM cohorts WHERE id = ? AND deleted_at IS NULL"
                        + " AND rule = ?::jsonb FOR UPDATE")) {
                    lock.setLong(1, s.id());
                    lock.setString(2, s.ruleJson());
                    try (ResultSet rs = lock.executeQuery()) {
                        if (!rs.next()) {
                            c.rollback();
                            return Optional.empty();
                        }
                    }
                }
                // the difference is taken here, from the open stints: PostgreSQL plans an anti-join against an unnest()
                // of the new members as a nested loop (no statistics for the array), which took 5.8 s for 7 cohorts of
                // 16k memberships that had not changed; read, compare, and write only what changed (usually nothing)
                Set<String> current = new java.util.HashSet<>();
                try (PreparedStatement ps = c.prepareStatement("SELECT user_id FROM user_cohorts WHERE cohort_id = ? AND left_at IS NULL")) {
                    ps.setLong(1, s.id());
                    ps.setFetchSize(10_000);
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            current.add(rs.getString(1));
                        }
                    }
                }
                List<String> leave = current.stream().filter(u -> !members.contains(u)).sorted().toList();
                List<String> join = members.stream().filter(u -> !current.contains(u)).sorted().toList();
                if (!leave.isEmpty() || !join.isEmpty()) {
                    touchedHere(c);
                }
                long removed = leave.isEmpty() ? 0 : leave(c, s.id(), leave);
                long added = join.isEmpty() ? 0 : join(c, s, join);
                c.commit();
                return Optional.of(new Change(added, removed, members.size()));
            } catch (SQLException e) {
                c.rollback();
                throw e;
            }
        }
    }

    /**
     * This transaction stamps {@code updated_at} itself, set-wise, so the per-row trigger of {@code user_cohorts}
     * (003, which looks up the pair's latest stint FOR UPDATE for every row) is skipped for its statements (011). The
     * stamp is the trigger's: {@code greatest(now(), the pair's latest updated_at + 1 ms)}. The trigger's row locks are
     * not needed here: this transaction holds the cohort row FOR UPDATE, which every membership writer takes first.
     * Nor is the per-row check that the cohort exists (012): the row was found live and locked before any write.
     * Measured (issue 19, 200 rule cohorts, 9.41M memberships): the trigger was most of a row's cost, the check about a
     * third of what remained of the INSERT (docs/analytics.md).
     */
    private static void touchedHere(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("SET LOCAL csr.memberships_touched = 'on'");
        }
    }

    /**
     * Ends the open stints of {@code users}. The open stint of a pair is its latest (a new one opens only after the
     * previous one closed, one millisecond later at least), so {@code updated_at + 1 ms} is the trigger's stamp.
     */
    private static long leave(Connection c, long cohortId, List<String> users) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE user_cohorts SET left_at = clock_timestamp(),"
                + " updated_at = greatest(now(), updated_at + interval '1 millisecond')"
                + " WHERE cohort_id = ? AND left_at IS NULL AND user_id = ANY (?)")) {
            ps.setLong(1, cohortId);
            ps.setArray(2, c.createArrayOf("text", users.toArray()));
            return ps.executeUpdate();
        }
    }

    /** Above this many new members, the planner is given the staged rows' statistics before the insert. */
    private static final int ANALYZE_FROM = 1_000;

    /**
     * Opens a stint for each of {@code users} (none of them a member now): the ids are streamed into a temporary table
     * with COPY (pgjdbc's CopyManager), then inserted in one statement, stamped as the trigger would:
     * after the latest earlier stint of the pair, if any.
     */
    private static long join(Connection c, Stored s, List<String> users) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("CREATE TEMP TABLE IF NOT EXISTS csr_rule_joiners (user_id text NOT NULL) ON COMMIT DELETE ROWS");
        }
        CopyIn.text(c, "COPY pg_temp.csr_rule_joiners (user_id) FROM STDIN", users);
        if (users.size() >= ANALYZE_FROM) {
            try (Statement st = c.createStatement()) {
                st.execute("ANALYZE pg_temp.csr_rule_joiners");
            }
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO user_cohorts (cohort_id, company_id, user_id, joined_at, updated_at)"
                + " SELECT ?, ?, j.user_id, t.at, greatest(now(), p.latest + interval '1 millisecond')"
                + " FROM pg_temp.csr_rule_joiners j CROSS JOIN (SELECT clock_timestamp() AS at) t"
                + " LEFT JOIN (SELECT user_id, max(updated_at) AS latest FROM user_cohorts"
                + "            WHERE cohort_id = ? AND user_id IN (SELECT user_id FROM pg_temp.csr_rule_joiners) GROUP BY user_id) p"
                + " ON p.user_id = j.user_id")) {
            ps.setLong(1, s.id());
            ps.setString(2, s.companyId());
            ps.setLong(3, s.id());
            return ps.executeUpdate();
        }
    }

    @Override
    public void close() {
        Thread t = scheduler;
        if (t != null) {
            t.interrupt();
        }
        background.shutdownNow();
        try {
            background.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
