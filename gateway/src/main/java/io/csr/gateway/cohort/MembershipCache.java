package io.csr.gateway.cohort;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.SqlLiteral;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Each company's active memberships of live cohorts, held in memory for {@code /cohort/top} so that it needs neither
 * {@code user_cohorts FINAL} over every membership nor ClickHouse's hash join (together about two thirds of the
 * query on 2 cores, docs/analytics.md).
 *
 * <p><b>Never stale.</b> An entry is valid for one <em>stamp</em>: the names of the active parts of
 * {@code user_cohorts} and {@code cohorts}. Every INSERT creates a part with a new, never reused name (block numbers
 * only grow) and every merge replaces parts, so an unchanged list means unchanged rows. Each use reads the stamp
 * (a {@code system.parts} query of about 1 ms); a load reads it before and after and keeps the result only when both
 * agree. A replicated membership change therefore shows at the next request, as with the ClickHouse join.
 *
 * <p><b>Bounded.</b> At most {@code COHORT_MEMBERSHIP_CACHE_ROWS} memberships in all (about 20 bytes each), least
 * recently used company evicted first; a company with more is not cached and {@link #of} answers empty (the caller
 * falls back to the join). 0 turns the cache off.
 */
final class MembershipCache {
    private static final Logger LOG = LoggerFactory.getLogger(MembershipCache.class);

    /** RowBinary numbers are little-endian fixed-width values; read in place, no buffer per row. */
    private static final VarHandle LITTLE_ENDIAN_LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private final ClickHouseAccess clickHouse;
    private final long maxRows;
    private final LinkedHashMap<String, Entry> byCompany = new LinkedHashMap<>(16, 0.75f, true); // guarded by this
    private long rows; // guarded by this

    private record Entry(String stamp, Memberships memberships) {
    }

    MembershipCache(ClickHouseAccess clickHouse, long maxRows) {
        this.clickHouse = clickHouse;
        this.maxRows = maxRows;
    }

    /** The company's memberships as ClickHouse holds them now, or empty when they are not cached (too many, cache off). */
    Optional<Memberships> of(String companyId, String activeMembershipsSql) {
        if (maxRows <= 0) {
            return Optional.empty();
        }
        String stamp = stamp();
        synchronized (this) {
            Entry e = byCompany.get(companyId);
            if (e != null && e.stamp().equals(stamp)) {
                return Optional.of(e.memberships());
            }
        }
        long started = System.nanoTime();
        Memberships loaded = load(activeMembershipsSql);
        if (loaded == null) {
            LOG.info("Cohort membership cache: company {} has more than {} memberships (COHORT_MEMBERSHIP_CACHE_ROWS); top uses the join",
                    companyId, maxRows);
            return Optional.empty();
        }
        if (!stamp().equals(stamp)) {
            return Optional.of(loaded); // right for this request (read after the first stamp), but may already be old
        }
        synchronized (this) {
            Entry old = byCompany.put(companyId, new Entry(stamp, loaded));
            rows += loaded.size() - (old == null ? 0 : old.memberships().size());
            for (Iterator<Map.Entry<String, Entry>> it = byCompany.entrySet().iterator(); rows > maxRows && it.hasNext(); ) {
                Map.Entry<String, Entry> eldest = it.next();
                if (!eldest.getKey().equals(companyId)) {
                    rows -= eldest.getValue().memberships().size();
                    it.remove();
                }
            }
        }
        LOG.debug("Cohort membership cache: loaded {} for company {} in {} ms", loaded, companyId, (System.nanoTime() - started) / 1_000_000);
        return Optional.of(loaded);
    }

    /**
     * The active parts of the two tables, in a fixed order. In the replicated layout these are the local tables' parts
     * on every shard (one replica each, the one the reads go to): a Distributed table has no parts, its stamp would
     * never change. Parts of two shards may share a name, so rows count too.
     */
    private String stamp() {
        StringBuilder out = new StringBuilder();
        clickHouse.query("SELECT table, name, rows FROM " + clickHouse.systemParts() + " WHERE database = " + SqlLiteral.string(clickHouse.database())
                        + " AND table IN (" + SqlLiteral.string(clickHouse.localTable("user_cohorts")) + ", "
                        + SqlLiteral.string(clickHouse.localTable("cohorts")) + ") AND active ORDER BY table, name, rows")
                .forEach(r -> out.append(r.get("table").asText()).append('/').append(r.get("name").asText())
                        .append('/').append(r.get("rows").asText()).append(' '));
        return out.toString();
    }

    /** Reads (user hash, cohort id) pairs sorted by the hash; null when there are more than {@code maxRows}. */
    private Memberships load(String activeMembershipsSql) {
        Builder builder = new Builder();
        clickHouse.queryRowBinary("SELECT cityHash64(user_id) AS u, cohort_id FROM (" + activeMembershipsSql + ") ORDER BY u, cohort_id",
                body -> {
                    byte[] row = new byte[16];
                    while (!builder.tooMany && readFully(body, row)) {
                        builder.add(littleEndianLong(row, 0), littleEndianLong(row, 8));
                    }
                });
        return builder.tooMany ? null : builder.build();
    }

    private final class Builder {
        private long[] users = new long[1024];
        private int[] slots = new int[1024];
        private final Map<Long, Integer> slotOf = new HashMap<>();
        private int n;
        private boolean tooMany;

        void add(long userHash, long cohortId) {
            if (n >= maxRows) {
                tooMany = true;
                return;
            }
            if (n == users.length) {
                users = Arrays.copyOf(users, n * 2);
                slots = Arrays.copyOf(slots, n * 2);
            }
            users[n] = userHash;
            slots[n] = slotOf.computeIfAbsent(cohortId, id -> slotOf.size());
            n++;
        }

        Memberships build() {
            long[] cohortIds = new long[slotOf.size()];
            slotOf.forEach((id, slot) -> cohortIds[slot] = id);
            return new Memberships(Arrays.copyOf(users, n), Arrays.copyOf(slots, n), cohortIds);
        }
    }

    /** Fills {@code row}; false at the clean end of the body, EOFException when it ends inside a row. */
    static boolean readFully(InputStream in, byte[] row) throws IOException {
        int read = in.readNBytes(row, 0, row.length);
        if (read == 0) {
            return false;
        }
        if (read < row.length) {
            throw new EOFException("RowBinary answer ended inside a row (" + read + " of " + row.length + " bytes)");
        }
        return true;
    }

    static long littleEndianLong(byte[] b, int at) {
        return (long) LITTLE_ENDIAN_LONG.get(b, at);
    }
}
