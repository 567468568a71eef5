package io.csr.job.model;

import java.util.Objects;

/**
 * One Contract 3 update for a company's Redis stream: {@code type} is the SSE event name, {@code json} the one-line
 * data ({@link io.csr.common.contract.MetricUpdate} or {@link io.csr.common.contract.JourneyUpdate}). Flink POJO.
 */
public class RedisUpdate {
    public String companyId;
    public String type;
    public String json;

    public RedisUpdate() {
    }

    public RedisUpdate(String companyId, String type, String json) {
        this.companyId = companyId;
        this.type = type;
        this.json = json;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RedisUpdate && Objects.equals(companyId, ((RedisUpdate) o).companyId)
                && Objects.equals(type, ((RedisUpdate) o).type) && Objects.equals(json, ((RedisUpdate) o).json);
    }

    @Override
    public int hashCode() {
        return Objects.hash(companyId, type, json);
    }

    @Override
    public String toString() {
        return "RedisUpdate{" + companyId + " " + type + " " + json + "}";
    }
}
