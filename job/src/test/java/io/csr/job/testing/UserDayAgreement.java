package io.csr.job.testing;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.userdays.UserDailyMetrics;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Issue 25's check: {@code user_daily_metrics FINAL} holds exactly one row per (company, metric, day, user) that has
 * observations in {@code metrics_timeseries FINAL}, with the figures a recomputation from those gives (count, min,
 * max and the quantile bins equal; sum and sum of squares to 1e-9 relative: the addition order differs).
 */
public final class UserDayAgreement {
    private UserDayAgreement() {
    }

    public static final String RECOMPUTATION = "SELECT company_id, metric, toString(day) AS d, user_id, count, sum, min, max, sum_sq,"
            + " q_keys, q_counts FROM (" + UserDailyMetrics.recompute("1") + ")";

    /** The differences, as readable lines; empty when they agree. */
    public static List<String> mismatches(ClickHouseAccess ch) {
        Map<String, JsonNode> expected = byKey(ch.query(RECOMPUTATION));
        Map<String, JsonNode> stored = byKey(ch.query("SELECT company_id, metric, toString(day) AS d, user_id, count, sum, min,"
                + " max, sum_sq, q_keys, q_counts, version FROM user_daily_metrics FINAL"));
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : expected.entrySet()) {
            JsonNode have = stored.get(e.getKey());
            JsonNode want = e.getValue();
            if (have == null) {
                out.add(e.getKey() + ": missing, want count " + want.get("count").asLong());
            } else if (have.get("count").asLong() != want.get("count").asLong()
                    || have.get("min").asDouble() != want.get("min").asDouble()
                    || have.get("max").asDouble() != want.get("max").asDouble()
                    || !close(have.get("sum").asDouble(), want.get("sum").asDouble())
                    || !close(have.get("sum_sq").asDouble(), want.get("sum_sq").asDouble())
                    || !have.get("q_counts").equals(want.get("q_counts"))
                    || !have.get("q_keys").equals(want.get("q_keys"))) {
                out.add(e.getKey() + ": stored " + have + ", recomputed " + want);
            }
        }
        for (String key : stored.keySet()) {
            if (!expected.containsKey(key)) {
                out.add(key + ": stored but no observation has it");
            }
        }
        return out;
    }

    private static boolean close(double a, double b) {
        return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.max(Math.abs(a), Math.abs(b)));
    }

    private static Map<String, JsonNode> byKey(List<JsonNode> rows) {
        Map<String, JsonNode> out = new TreeMap<>();
        for (JsonNode r : rows) {
            out.put(r.get("company_id").asText() + "|" + r.get("metric").asText() + "|" + r.get("d").asText() + "|"
                    + r.get("user_id").asText(), r);
        }
        return out;
    }
}
