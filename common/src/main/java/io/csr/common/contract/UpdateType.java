package io.csr.common.contract;

/** SSE event types of Contract 3 ({@code event:} field and Redis {@code type} field). */
public enum UpdateType {
    METRIC_UPDATED("metric_updated"),
    SROI_UPDATED("sroi_updated"),
    VIS_UPDATED("vis_updated"),
    JOURNEY_FLAG_UPDATED("journey_flag_updated");

    private final String wireName;

    UpdateType(String wireName) {
        this.wireName = wireName;
    }

    public String wireName() {
        return wireName;
    }

    /** sroi drives sroi_updated, vis drives vis_updated, every other metric (q2q included) metric_updated. */
    public static UpdateType forMetric(String metric) {
        switch (metric) {
            case "sroi": return SROI_UPDATED;
            case "vis": return VIS_UPDATED;
            default: return METRIC_UPDATED;
        }
    }

    public static UpdateType fromWire(String name) {
        for (UpdateType t : values()) {
            if (t.wireName.equals(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown update type '" + name + "'");
    }
}
