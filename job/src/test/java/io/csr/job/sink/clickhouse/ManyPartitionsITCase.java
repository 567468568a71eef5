package io.csr.job.sink.clickhouse;

import io.csr.job.model.CsrEvent;
import io.csr.job.model.EventKind;
import io.csr.job.pipeline.EventRows;
import io.csr.job.sink.clickhouse.committer.ClickHouseCommitTarget;
import io.csr.job.sink.clickhouse.committer.ClickHouseCommitter;
import io.csr.job.sink.clickhouse.committer.CommitterMetrics;
import io.csr.job.sink.clickhouse.committer.FakeCommitRequest;
import io.csr.job.sink.clickhouse.writer.ClickHouseSinkWriter;
import io.csr.common.clickhouse.ClickHouseAccess;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One checkpoint whose rows span 130 months (a producer's backlog of years) commits: the writer seals one batch per
 * table and month, so no INSERT touches more than one partition — what ClickHouse 24.x requires (at most 100 per
 * INSERT by default) and 18.16 accepts alike.
 */
class ManyPartitionsITCase {

    @Test
    void aCheckpointSpanningMoreThanAHundredMonthsCommits() throws Exception {
        try (ClickHouseTestDatabase db = new ClickHouseTestDatabase("partitions")) {
            ClickHouseSinkOptions options = ClickHouseSinkOptions.defaults();
            ClickHouseSinkWriter writer = new ClickHouseSinkWriter(options, "job", 0, OptionalLong.empty(),
                    Clock.systemUTC(), new UnregisteredMetricsGroup());
            ZonedDateTime start = ZonedDateTime.of(2015, 1, 15, 12, 0, 0, 0, ZoneOffset.UTC);
            int months = 130;
            for (int m = 0; m < months; m++) {
                for (int i = 0; i < 3; i++) {
                    CsrEvent e = new CsrEvent();
                    e.kind = EventKind.METRIC;
                    e.eventId = "m" + m + "-" + i;
                    e.companyId = "acme";
                    e.name = "sroi";
                    e.userId = "u" + i;
                    e.subject = "metrics.sroi";
                    e.payload = "{}";
                    e.occurredAtMs = start.plusMonths(m).toInstant().toEpochMilli() + i * 1000L;
                    e.value = m + i;
                    writer.write(EventRows.eventRow(e, System.currentTimeMillis()), null);
                    writer.write(EventRows.timeseriesRow(e), null);
                }
            }
            List<FakeCommitRequest> requests = new ArrayList<>();
            writer.prepareCommit().forEach(c -> requests.add(new FakeCommitRequest(c)));
            assertThat(requests).hasSize(2 * months);
            try (ClickHouseCommitter committer = new ClickHouseCommitter(new ClickHouseCommitTarget(ClickHouseAccess.open(db.settings())),
                    options, new CommitterMetrics(new UnregisteredMetricsGroup()))) {
                committer.commit(new ArrayList<>(requests));
            }
            assertThat(requests).allSatisfy(r -> assertThat(r.outcome).isEqualTo(FakeCommitRequest.Outcome.NONE));
            assertThat(db.count("SELECT count() FROM events FINAL")).isEqualTo(3L * months);
            assertThat(db.count("SELECT count() FROM metrics_timeseries FINAL")).isEqualTo(3L * months);
            assertThat(db.count("SELECT uniqExact(partition) FROM system.parts WHERE database = currentDatabase() AND table = 'events' AND active"))
                    .isEqualTo(months);
        }
    }
}
