package io.csr.job.aggregate;

import io.csr.job.rows.RowFormat;
import io.csr.job.rows.VersionedRow;
import io.csr.job.sink.clickhouse.TableRow;

import java.time.Instant;
import java.time.ZoneOffset;

/**
 * The figures of one (company, metric, user, day) as the window operator's state holds them, with version 2·count:
 * becomes a {@code user_daily_metrics} row (ReplacingMergeTree on version, read with FINAL). Flink POJO.
 */
public class UserDayFiring implements VersionedRow {
    public static final String TABLE = "user_daily_metrics";

    public String companyId;
    public String metric;
    public String userId;
    public long dayStartMs;
    public long count;
    public double sum;
    public double min;
    public double max;
    public double sumSq;
    public int[] qKeys;
    public long[] qCounts;
    public long version;
    public long updatedAtMs;

    public UserDayFiring() {
    }

    static UserDayFiring of(String companyId, String metric, String userId, long dayStartMs, UserDayAccumulator acc, long now) {
        UserDayFiring f = new UserDayFiring();
        f.companyId = companyId;
        f.metric = metric;
        f.userId = userId;
        f.dayStartMs = dayStartMs;
        f.count = acc.count;
        f.sum = acc.sum;
        f.min = acc.min;
        f.max = acc.max;
        f.sumSq = acc.sumSq;
        f.qKeys = new int[acc.bins.size()];
        f.qCounts = new long[acc.bins.size()];
        int i = 0;
        for (var bin : acc.bins.entrySet()) {
            f.qKeys[i] = bin.getKey();
            f.qCounts[i++] = bin.getValue();
        }
        f.version = 2 * acc.count;
        f.updatedAtMs = now;
        return f;
    }

    /** The key one row per checkpoint is kept for. */
    @Override
    public String rowKey() {
        return companyId + "|" + metric + "|" + dayStartMs + "|" + userId;
    }

    @Override
    public long rowVersion() {
        return version;
    }

    @Override
    public TableRow toTableRow() {
        return RowFormat.row(TABLE, dayStartMs, RowFormat.object()
                .put("company_id", companyId)
                .put("metric", metric)
                .put("day", Instant.ofEpochMilli(dayStartMs).atOffset(ZoneOffset.UTC).toLocalDate().toString())
                .put("user_id", userId)
                .put("count", count)
                .put("sum", sum)
                .put("min", min)
                .put("max", max)
                .put("sum_sq", sumSq)
                .put("q_keys", qKeys)
                .put("q_counts", qCounts)
                .put("version", version)
                .put("updated_at", RowFormat.dateTime(updatedAtMs)));
    }
}
