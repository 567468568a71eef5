package io.csr.job.cohort;

import java.util.List;

/**
 * What one poll of PostgreSQL found: the cohorts and membership pairs changed at or after the watermark it read
 * from, and the watermark the next poll reads from ({@link ReplicationWatermark}).
 */
public record CohortPoll(List<CohortRecord> cohorts, List<MembershipRecord> memberships, long nextWatermarkMicros) {
    public CohortPoll {
        cohorts = List.copyOf(cohorts);
        memberships = List.copyOf(memberships);
    }

    public int size() {
        return cohorts.size() + memberships.size();
    }
}
