package io.csr.gateway.cohort.rule;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.SqlLiteral;

import javax.sql.DataSource;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Date;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Who a rule holds for, now. Each leaf is answered by the store that holds its input, as a set of user ids, and the
 * sets are combined here ({@code all} = intersection, {@code any} = union, {@code not} = the universe minus):
 * <ul>
 *   <li>participant attributes from PostgreSQL {@code participants} (the only copy; the gateway writes it);</li>
 *   <li>journey flags, behaviour and activity from ClickHouse ({@code events}, {@code metrics_timeseries FINAL}): the
 *       job writes them there within one checkpoint, while PostgreSQL only has {@code event_log}'s raw text, parsed by
 *       the analytics views on a 5-minute schedule — too late for "a flag shows within 60 s".</li>
 * </ul>
 * The universe (what {@code not} complements, and the zero-observation case of {@code count}) is the company's
 * participants; for a rule without attribute leaves it also holds every user seen in the company's events (Contract 4).
 * A rule with attribute leaves keeps participants only.
 */
public record RuleEvaluator(DataSource postgres, ClickHouseAccess clickHouse, Clock clock) {

    /**
     * The company's participant ids, read once and shared by the evaluations of one scheduled pass (a pass evaluates a
     * company's rules against one read of its participants; the next pass reads them again). Read-only once read.
     */
    public static final class Participants {
        private final ConcurrentHashMap<String, Set<String>> byCompany = new ConcurrentHashMap<>();

        Set<String> of(String companyId, RuleEvaluator evaluator) throws SQLException {
            try {
                return byCompany.computeIfAbsent(companyId, c -> {
                    try {
                        return Collections.unmodifiableSet(evaluator.readParticipants(c));
                    } catch (SQLException e) {
                        throw new UncheckedSql(e);
                    }
                });
            } catch (UncheckedSql e) {
                throw e.sql;
            }
        }

        private static final class UncheckedSql extends RuntimeException {
            final SQLException sql;

            UncheckedSql(SQLException sql) {
                super(sql);
                this.sql = sql;
            }
        }
    }

    /** One evaluation: caches the universe so a rule with several {@code not}s reads it once. Both sets are read-only. */
    private final class Run {
        final String companyId;
        final boolean attributes;
        final Participants shared;
        final Instant now = clock.instant();
        Set<String> participants;
        Set<String> universe;

        Run(String companyId, Rule rule, Participants shared) {
            this.companyId = companyId;
            this.attributes = Rule.usesAttributes(rule);
            this.shared = shared;
        }

        Set<String> participants() throws SQLException {
            if (participants == null) {
                participants = shared == null ? readParticipants(companyId) : shared.of(companyId, RuleEvaluator.this);
            }
            return participants;
        }

        Set<String> universe() throws SQLException {
            if (universe == null) {
                if (attributes) {
                    universe = participants();
                } else {
                    Set<String> all = new HashSet<>(participants());
                    all.addAll(chUsers("SELECT DISTINCT user_id FROM events WHERE company_id = " + SqlLiteral.string(companyId)
                            + " AND user_id != ''"));
                    universe = all;
                }
            }
            return universe;
        }

        Set<String> eval(Rule r) throws SQLException {
            return switch (r) {
                case Rule.All a -> {
                    Set<String> out = null;
                    for (Rule x : a.rules()) {
                        Set<String> s = eval(x);
                        if (out == null) {
                            out = new HashSet<>(s);
                        } else {
                            out.retainAll(s);
                        }
                        if (out.isEmpty()) {
                            break;
                        }
                    }
                    yield out;
                }
                case Rule.Any a -> {
                    Set<String> out = new HashSet<>();
                    for (Rule x : a.rules()) {
                        out.addAll(eval(x));
                    }
                    yield out;
                }
                case Rule.Not n -> {
                    Set<String> out = new HashSet<>(universe());
                    out.removeAll(eval(n.rule()));
                    yield out;
                }
                case Rule.AttrIn a -> attrIn(a);
                case Rule.AttrDates a -> attrDates(a);
                case Rule.Flag f -> chUsers(flagSql(companyId, f));
                case Rule.Behaviour b -> behaviour(b);
                case Rule.Active a -> chUsers("SELECT DISTINCT user_id FROM events WHERE company_id = " + SqlLiteral.string(companyId)
                        + " AND occurred_at >= toDateTime(" + since(a.days()) + ") AND occurred_at <= toDateTime(" + now.getEpochSecond() + ")"
                        + " AND user_id != ''");
            };
        }

        private Set<String> attrIn(Rule.AttrIn a) throws SQLException {
            List<String> values = a.values().stream().filter(v -> v != null).toList();
            boolean nulls = values.size() < a.values().size();
            String sql = "SELECT user_id FROM participants WHERE company_id = ? AND (" + a.attr().column + " = ANY (?)"
                    + (nulls ? " OR " + a.attr().column + " IS NULL" : "") + ")";
            try (Connection c = postgres.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
                ps.setString(1, companyId);
                ps.setArray(2, c.createArrayOf("text", values.toArray()));
                return users(ps);
            }
        }

        private Set<String> attrDates(Rule.AttrDates a) throws SQLException {
            String col = a.attr().column;
            String sql = "SELECT user_id FROM participants WHERE company_id = ? AND " + col + " IS NOT NULL"
                    + (a.from() == null ? "" : " AND " + col + " >= ?") + (a.to() == null ? "" : " AND " + col + " <= ?");
            try (Connection c = postgres.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
                int i = 1;
                ps.setString(i++, companyId);
                if (a.from() != null) {
                    ps.setDate(i++, Date.valueOf(a.from()));
                }
                if (a.to() != null) {
                    ps.setDate(i, Date.valueOf(a.to()));
                }
                return users(ps);
            }
        }

        /**
         * Users whose aggregate passes. A user without observations in the period has no avg/min/max (never a member)
         * but a count of 0: when 0 passes the comparison, the members are the universe minus the users whose count fails.
         */
        private Set<String> behaviour(Rule.Behaviour b) throws SQLException {
            String agg = switch (b.agg()) {
                case AVG -> "avg(value)";
                case MIN -> "min(value)";
                case MAX -> "max(value)";
                case COUNT -> "toFloat64(count())";
            };
            boolean zeroPasses = b.agg() == Rule.Aggregate.COUNT && b.op().test(0, b.value());
            String perUser = "SELECT user_id, " + agg + " AS a FROM (SELECT user_id, value FROM metrics_timeseries FINAL"
                    + " WHERE company_id = " + SqlLiteral.string(companyId) + " AND metric = " + SqlLiteral.string(b.metric())
                    + " AND ts >= toDateTime(" + since(b.days()) + ") AND ts <= toDateTime(" + now.getEpochSecond() + "))"
                    + " WHERE user_id != '' GROUP BY user_id";
            String test = "a " + b.op().symbol + " " + SqlLiteral.number(b.value());
            if (!zeroPasses) {
                return chUsers("SELECT user_id FROM (" + perUser + ") WHERE " + test);
            }
            Set<String> out = new HashSet<>(universe());
            out.removeAll(chUsers("SELECT user_id FROM (" + perUser + ") WHERE NOT (" + test + ")"));
            return out;
        }

        private long since(int days) {
            return now.minus(Duration.ofDays(days)).getEpochSecond();
        }
    }

    /**
     * Journey flag per user from the job's {@code events} (no FINAL needed: a replayed copy of an event has the same
     * value and time, so neither the latest value nor "ever set" changes). The latest event wins; at the same
     * millisecond a clear wins over a set (as {@code analytics_journey_state}). The boolean is read with a pattern, as
     * ClickHouse 18.16 has no JSON parser: the job accepted the payload only with a boolean {@code value} at the top
     * level, and a {@code "value"} inside a string would be escaped ({@code \"value\"}), which the pattern excludes.
     */
    static String flagSql(String companyId, Rule.Flag f) {
        String v = "toUInt64(match(payload, '(^|[^\\\\\\\\])\"value\"\\\\s*:\\\\s*true'))";
        String rows = "SELECT user_id, occurred_at_ms AS t, " + v + " AS v FROM events WHERE company_id = " + SqlLiteral.string(companyId)
                + " AND event_type = 'journey' AND subject = " + SqlLiteral.string("journey." + f.flag()) + " AND user_id != ''";
        if (f.ever()) {
            return "SELECT DISTINCT user_id FROM (" + rows + ") WHERE v = 1";
        }
        return "SELECT user_id FROM (SELECT user_id, argMax(v, t * 2 + (1 - v)) AS latest FROM (" + rows + ") GROUP BY user_id)"
                + " WHERE latest = 1";
    }

    /** The members of {@code rule} in {@code companyId} now. */
    public Set<String> members(String companyId, Rule rule) throws SQLException {
        return members(companyId, rule, null);
    }

    /** {@link #members(String, Rule)} with the participants of {@code shared} (null: read them for this rule). */
    public Set<String> members(String companyId, Rule rule, Participants shared) throws SQLException {
        Run run = new Run(companyId, rule, shared);
        Set<String> out = run.eval(rule);
        if (run.attributes) {
            out.retainAll(run.participants());
        }
        return out;
    }

    private Set<String> readParticipants(String companyId) throws SQLException {
        try (Connection c = postgres.getConnection(); PreparedStatement ps = c.prepareStatement("SELECT user_id FROM participants WHERE company_id = ?")) {
            ps.setString(1, companyId);
            return users(ps);
        }
    }

    private static Set<String> users(PreparedStatement ps) throws SQLException {
        Set<String> out = new HashSet<>();
        ps.setFetchSize(10_000);
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    /** One String column read as RowBinary (LEB128 length, then the UTF-8 bytes): no JSON parse for 100k ids. */
    private Set<String> chUsers(String sql) {
        Set<String> out = new HashSet<>();
        clickHouse.queryRowBinary(sql, body -> {
            while (true) {
                long len = varint(body);
                if (len < 0) {
                    return;
                }
                byte[] b = body.readNBytes((int) len);
                if (b.length < len) {
                    throw new EOFException("RowBinary answer ended inside a user id");
                }
                out.add(new String(b, StandardCharsets.UTF_8));
            }
        });
        return out;
    }

    /** A LEB128 length, or -1 at the end of the body. */
    private static long varint(InputStream in) throws IOException {
        long value = 0;
        for (int shift = 0; ; shift += 7) {
            int b = in.read();
            if (b < 0) {
                if (shift == 0) {
                    return -1;
                }
                throw new EOFException("RowBinary answer ended inside a length");
            }
            value |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                return value;
            }
        }
    }

    /** Sorted ids, for samples and tests. */
    static List<String> sorted(Set<String> users) {
        List<String> out = new ArrayList<>(users);
        out.sort(null);
        return out;
    }
}
