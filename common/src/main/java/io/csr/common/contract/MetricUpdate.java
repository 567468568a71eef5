package io.csr.common.contract;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Data of {@code metric_updated} / {@code sroi_updated} / {@code vis_updated}: absolute values of one window firing,
 * so a repeat is harmless; {@code version} increases per (company, metric, window, windowStart); {@code final} is true
 * once the watermark passed the window end. {@code windowStart} is ISO-8601 UTC.
 */
public record MetricUpdate(String companyId, String metric, String window, String windowStart, long count, double sum,
                           double min, double max, double avg, double p50, double p75, double p95, double stddev,
                           long version, @JsonProperty("final") boolean isFinal) {
}
