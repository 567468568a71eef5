package io.csr.common.contract;

/**
 * Data of {@code journey_flag_updated}: the company's count of users with the flag set, after this change.
 * {@code version} increases by one with every update of the same (company, flag) and is kept in the job's checkpointed
 * state, so after a restore the replayed updates repeat the same versions and a client drops any it already has.
 */
public record JourneyUpdate(String companyId, String flag, long usersFlagged, String userId, boolean value,
                            String occurredAt, long version) {
}
