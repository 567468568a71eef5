package io.csr.job.cohort;

/**
 * One PostgreSQL {@code cohorts} row as read by the replication. Times are epoch microseconds.
 *
 * @param deleted whether {@code deleted_at} is set (soft delete)
 */
public record CohortRecord(long id, String companyId, String name, String description,
                           long createdAtMicros, long updatedAtMicros, boolean deleted) {
}
