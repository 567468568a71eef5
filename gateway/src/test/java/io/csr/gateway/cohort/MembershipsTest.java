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
