package io.csr.common.contract;

/** Data of {@code journey_flag_updated}: the company's count of users with the flag set, after this change. */
public record JourneyUpdate(String companyId, String flag, long usersFlagged, String userId, boolean value,
                            String occurredAt) {
}
