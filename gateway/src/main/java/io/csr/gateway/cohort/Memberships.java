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

        /** One user's observations: {@code n} of them summing to {@code s}; counted in every cohort the user is in. */
        void add(long userHash, long n, double s) {
            for (int i = first(userHash); i < users.length && users[i] == userHash; i++) {
                int slot = slots[i];
                userCount[slot]++;
                count[slot] += n;
                sum[slot] += s;
            }
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

    /** Index of the first entry of {@code userHash}, or where it would be. */
    private int first(long userHash) {
        int lo = 0;
        int hi = users.length;
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
