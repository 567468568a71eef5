package io.csr.gateway.cohort;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * A company's active memberships of live cohorts, as (user hash, cohort) pairs sorted by the user hash as an unsigned
 * number ({@code cityHash64(user_id)}, the order ClickHouse's {@code ORDER BY} gives a UInt64). Immutable once built;
 * {@link #rank} joins per-user figures to it.
 */
final class Memberships {
    private final long[] users;
    private final int[] slots;
    private final long[] cohortIds;

    /**
     * @param users     user hashes, ascending unsigned, one entry per membership
     * @param slots     for each entry, the index of its cohort in {@code cohortIds}
     * @param cohortIds the distinct cohort ids
     */
    Memberships(long[] users, int[] slots, long[] cohortIds) {
        if (users.length != slots.length) {
            throw new IllegalArgumentException("users and slots differ in length: " + users.length + " vs " + slots.length);
        }
        for (int i = 1; i < users.length; i++) {
            if (Long.compareUnsigned(users[i - 1], users[i]) > 0) {
                throw new IllegalArgumentException("user hashes are not sorted (unsigned) at " + i);
            }
        }
        this.users = users;
        this.slots = slots;
        this.cohortIds = cohortIds;
    }

    int size() {
        return users.length;
    }

    /** Sums per cohort of per-user figures: call {@link #add} once per user, then {@link #top}. */
    Ranking ranking() {
        return new Ranking();
    }

    final class Ranking {
        private final long[] userCount = new long[cohortIds.length];
        private final long[] count = new long[cohortIds.length];
        private final double[] sum = new double[cohortIds.length];

        /** Where the last user added ended: a search for a larger hash starts here ({@link #find}). */
        private int cursor;

        /**
         * One user's observations: {@code n} of them summing to {@code s}; counted in every cohort the user is in. Users
         * in any order; in ascending unsigned order of the hash (as {@code ORDER BY u} gives them) each is found by a
         * search forward from the previous one, so the whole ranking is one pass over the memberships.
         */
        void add(long userHash, long n, double s) {
            int i = find(userHash);
            for (; i < users.length && users[i] == userHash; i++) {
                int slot = slots[i];
                userCount[slot]++;
                count[slot] += n;
                sum[slot] += s;
            }
            cursor = i;
        }

        /**
         * Index of the first entry of {@code userHash}, or where it would be. When every entry before the cursor is
         * smaller, the search gallops forward from the cursor (1, 2, 4, … entries) and then halves the last step: a few
         * neighbouring entries read where a search over all of them reads about log₂(memberships) scattered ones
         * (672k memberships: 20, most of them cache misses; 30 ms for 80k users of the benchmark, against 3 in order).
         */
        private int find(long userHash) {
            if (cursor > 0 && Long.compareUnsigned(users[cursor - 1], userHash) >= 0) {
                return first(userHash, 0, users.length);
            }
            int lo = cursor;
            int step = 1;
            while (lo < users.length && Long.compareUnsigned(users[lo], userHash) < 0) {
                int next = lo + step;
                if (next >= users.length || Long.compareUnsigned(users[next], userHash) >= 0) {
                    return first(userHash, lo + 1, Math.min(next, users.length));
                }
                lo = next + 1;
                step *= 2;
            }
            return lo;
        }

        /**
         * Observations counted per cohort elsewhere (the per-cohort monthly rows): {@code n} of them summing to {@code s},
         * no users. False when the cohort has no memberships here.
         */
        boolean addToCohort(long cohortId, long n, double s) {
            for (int slot = 0; slot < cohortIds.length; slot++) {
                if (cohortIds[slot] == cohortId) {
                    count[slot] += n;
                    sum[slot] += s;
                    return true;
                }
            }
            return false;
        }

        /** Cohorts with observations by average, highest first, ties by the lower id; at most {@code limit}. */
        List<CohortQueries.TopRow> top(int limit) {
            List<CohortQueries.TopRow> rows = new ArrayList<>();
            for (int slot = 0; slot < cohortIds.length; slot++) {
                if (count[slot] > 0) {
                    rows.add(new CohortQueries.TopRow(cohortIds[slot], userCount[slot], count[slot], sum[slot] / count[slot]));
                }
            }
            rows.sort(Comparator.comparingDouble(CohortQueries.TopRow::avg).reversed().thenComparingLong(CohortQueries.TopRow::cohortId));
            return List.copyOf(rows.subList(0, Math.min(limit, rows.size())));
        }
    }

    /** Index of the first entry of {@code userHash} in [lo, hi), or where it would be (hi when every entry is smaller). */
    private int first(long userHash, int lo, int hi) {
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (Long.compareUnsigned(users[mid], userHash) < 0) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    @Override
    public String toString() {
        return "Memberships[" + users.length + " memberships of " + cohortIds.length + " cohorts: " + Arrays.toString(
                Arrays.copyOf(cohortIds, Math.min(5, cohortIds.length))) + (cohortIds.length > 5 ? "…]" : "]");
    }
}
