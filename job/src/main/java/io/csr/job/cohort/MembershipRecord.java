package io.csr.job.cohort;

/**
 * The current state of one (cohort, user) pair, which is one ClickHouse {@code user_cohorts} row: the open stint if
 * there is one, else the latest one (PostgreSQL keeps every stint). Times are epoch microseconds.
 *
 * @param leftAtMicros   when the shown stint ended; null while the user is a member
 * @param versionMicros  the highest {@code updated_at} over every stint of the pair: grows with every change of the
 *                       pair (sql/postgres/003's trigger), so it orders the pair's states
 */
public record MembershipRecord(long cohortId, String companyId, String userId, long joinedAtMicros, Long leftAtMicros,
                               long versionMicros) {
    public boolean active() {
        return leftAtMicros == null;
    }
}
