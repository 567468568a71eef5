package io.csr.job.sink.clickhouse.committer;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Flink metrics of the ClickHouse committer (operator scope of the sink's committer):
 * {@code rowsCommitted}, {@code bytesCommitted}, {@code batchesCommitted}, {@code batchesAlreadyCommitted} (replays
 * the ledger skipped), {@code clickhouseRetries}, {@code committablesPending} (gauge: batches of the running commit
 * not yet done), {@code commitLatency} (histogram, ms per commit call) and {@code lastCommitLatencyMs} (gauge).
 */
public final class CommitterMetrics {
    private final Counter rowsCommitted;
    private final Counter bytesCommitted;
    private final Counter batchesCommitted;
    private final Counter batchesAlreadyCommitted;
    private final Counter retries;
    private final Histogram commitLatency;
    private final AtomicInteger pending = new AtomicInteger();
    private volatile long lastCommitLatencyMs;

    public CommitterMetrics(MetricGroup group) {
        this.rowsCommitted = group.counter("rowsCommitted");
        this.bytesCommitted = group.counter("bytesCommitted");
        this.batchesCommitted = group.counter("batchesCommitted");
        this.batchesAlreadyCommitted = group.counter("batchesAlreadyCommitted");
        this.retries = group.counter("clickhouseRetries");
        this.commitLatency = group.histogram("commitLatency", new DescriptiveStatisticsHistogram(1_000));
        group.gauge("committablesPending", (Gauge<Integer>) pending::get);
        group.gauge("lastCommitLatencyMs", (Gauge<Long>) () -> lastCommitLatencyMs);
    }

    void pending(int count) {
        pending.set(count);
    }

    void committed(long rows, long bytes) {
        rowsCommitted.inc(rows);
        bytesCommitted.inc(bytes);
        batchesCommitted.inc();
        pending.decrementAndGet();
    }

    void alreadyCommitted() {
        batchesAlreadyCommitted.inc();
        pending.decrementAndGet();
    }

    void retry() {
        retries.inc();
    }

    void commitTook(long millis) {
        lastCommitLatencyMs = millis;
        commitLatency.update(millis);
    }

    public long rowsCommitted() {
        return rowsCommitted.getCount();
    }

    public long batchesCommitted() {
        return batchesCommitted.getCount();
    }

    public long batchesAlreadyCommitted() {
        return batchesAlreadyCommitted.getCount();
    }

    public long retries() {
        return retries.getCount();
    }

    public int pending() {
        return pending.get();
    }

    public long lastCommitLatencyMs() {
        return lastCommitLatencyMs;
    }
}
