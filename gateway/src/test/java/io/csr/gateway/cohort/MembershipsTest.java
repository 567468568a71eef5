package io.csr.gateway.cohort;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MembershipsTest {
    // hashes in unsigned order: 5 < 2^63 (negative as a signed long) < -1 (2^64 - 1)
    static final long A = 5L;
    static final long B = Long.MIN_VALUE;
    static final long C = -1L;

    /** cohort 7 = A, B; cohort 3 = B, C; cohort 9 = C. */
    static Memberships sample() {
        return new Memberships(new long[] {A, B, B, C, C}, new int[] {0, 0, 1, 1, 2}, new long[] {7, 3, 9});
    }

    @Test
    void usersAreFoundByUnsignedHashAndCountInEveryCohortTheyBelongTo() {
        Memberships.Ranking r = sample().ranking();
        r.add(A, 2, 10.0);   // cohort 7
        r.add(B, 1, 30.0);   // cohorts 7 and 3
        r.add(C, 1, 2.0);    // cohorts 3 and 9
        r.add(42L, 5, 1e9);  // no cohort
        assertThat(r.top(10)).containsExactly(
                new CohortQueries.TopRow(3, 2, 2, 16.0),
                new CohortQueries.TopRow(7, 2, 3, 40.0 / 3),
                new CohortQueries.TopRow(9, 1, 1, 2.0));
    }

    @Test
    void tiesGoToTheLowerIdTheLimitCutsAndCohortsWithoutObservationsAreAbsent() {
        Memberships m = new Memberships(new long[] {A, A, C}, new int[] {0, 1, 2}, new long[] {8, 4, 6});
        Memberships.Ranking r = m.ranking();
        r.add(A, 1, 5.0);
        assertThat(r.top(10)).containsExactly(new CohortQueries.TopRow(4, 1, 1, 5.0), new CohortQueries.TopRow(8, 1, 1, 5.0));
        assertThat(r.top(1)).containsExactly(new CohortQueries.TopRow(4, 1, 1, 5.0));
    }

    /**
     * The ranking finds a user by a forward search from the previous one when users come in hash order (as top asks
     * ClickHouse for them) and by a search over all of them otherwise: every order gives the ranking a plain map gives.
     * Hashes spread over the whole unsigned range (negative longs too), users in several cohorts, users in none.
     */
    @Test
    void usersInHashOrderReverseOrderAndAnyOrderRankAlike() {
        java.util.Random rnd = new java.util.Random(7);
        java.util.TreeMap<Long, java.util.List<Integer>> cohortsOf = new java.util.TreeMap<>(Long::compareUnsigned);
        for (int i = 0; i < 3_000; i++) {
            long user = rnd.nextInt(4) == 0 ? rnd.nextLong() : rnd.nextInt(5_000); // clustered and scattered hashes
            java.util.List<Integer> cohorts = cohortsOf.computeIfAbsent(user, u -> new java.util.ArrayList<>());
            int slot = rnd.nextInt(40);
            if (!cohorts.contains(slot)) {
                cohorts.add(slot);
            }
        }
        java.util.List<Long> users = new java.util.ArrayList<>();
        java.util.List<Integer> slots = new java.util.ArrayList<>();
        cohortsOf.forEach((u, cs) -> cs.forEach(c -> {
            users.add(u);
            slots.add(c);
        }));
        long[] ids = new long[40];
        for (int c = 0; c < 40; c++) {
            ids[c] = 1000 + c;
        }
        Memberships m = new Memberships(users.stream().mapToLong(Long::longValue).toArray(), slots.stream().mapToInt(Integer::intValue).toArray(), ids);
        // two members in three with observations (so a forward search skips some), and as many users in no cohort,
        // each with its count and sum
        java.util.List<long[]> observed = new java.util.ArrayList<>();
        cohortsOf.keySet().stream().filter(u -> rnd.nextInt(3) > 0).forEach(u -> observed.add(new long[]{u, 1 + rnd.nextInt(5), rnd.nextInt(1_000)}));
        for (int i = 0; i < cohortsOf.size(); i++) {
            observed.add(new long[]{rnd.nextLong(), 1 + rnd.nextInt(5), rnd.nextInt(1_000)});
        }
        java.util.Map<Long, long[]> expected = new java.util.TreeMap<>(); // cohort -> users, count, sum
        for (long[] o : observed) {
            for (int c : cohortsOf.getOrDefault(o[0], java.util.List.of())) {
                long[] e = expected.computeIfAbsent(ids[c], id -> new long[3]);
                e[0]++;
                e[1] += o[1];
                e[2] += o[2];
            }
        }
        java.util.List<CohortQueries.TopRow> want = expected.entrySet().stream()
                .map(e -> new CohortQueries.TopRow(e.getKey(), e.getValue()[0], e.getValue()[1], (double) e.getValue()[2] / e.getValue()[1]))
                .sorted(java.util.Comparator.comparingDouble(CohortQueries.TopRow::avg).reversed().thenComparingLong(CohortQueries.TopRow::cohortId))
                .toList();
        assertThat(want).hasSize(40);

        observed.sort((a, b) -> Long.compareUnsigned(a[0], b[0]));
        assertThat(rank(m, observed)).as("in hash order").isEqualTo(want);
        assertThat(rank(m, observed.reversed())).as("in reverse order").isEqualTo(want);
        java.util.Collections.shuffle(observed, rnd);
        assertThat(rank(m, observed)).as("in any order").isEqualTo(want);
    }

    private static java.util.List<CohortQueries.TopRow> rank(Memberships m, java.util.List<long[]> observed) {
        Memberships.Ranking r = m.ranking();
        observed.forEach(o -> r.add(o[0], o[1], o[2]));
        return r.top(100);
    }

    @Test
    void unsortedHashesAreRefused() {
        assertThatThrownBy(() -> new Memberships(new long[] {C, A}, new int[] {0, 0}, new long[] {1}))
                .hasMessageContaining("not sorted");
    }

    @Test
    void rowBinaryNumbersAreLittleEndian() throws Exception {
        byte[] row = {1, 0, 0, 0, 0, 0, 0, (byte) 0x80};
        assertThat(MembershipCache.littleEndianLong(row, 0)).isEqualTo(Long.MIN_VALUE + 1);
        assertThat(MembershipCache.readFully(new java.io.ByteArrayInputStream(new byte[0]), new byte[8])).isFalse();
        assertThatThrownBy(() -> MembershipCache.readFully(new java.io.ByteArrayInputStream(new byte[3]), new byte[8]))
                .isInstanceOf(java.io.EOFException.class);
    }
}
