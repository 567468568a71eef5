package io.csr.job.pipeline;

import io.csr.job.rows.RowFormat;
import io.csr.job.model.CsrEvent;
import io.csr.job.model.EventKind;
import io.csr.job.sink.clickhouse.TableRow;
import org.apache.flink.api.common.functions.FlatMapFunction;
import org.apache.flink.util.Collector;

/**
 * The raw-table rows of one valid, deduplicated event: its {@code events} row here; the {@code metrics_timeseries} row
 * of a numeric event (metrics and q2q) is rendered by {@link #timeseriesRow} after the window operator, which routes
 * it to the same sink subtask as the window's corrections. Column names match sql/clickhouse/001_core_tables.sql exactly.
 */
public class EventRows implements FlatMapFunction<CsrEvent, TableRow> {
    private static final long serialVersionUID = 1L;

    @Override
    public void flatMap(CsrEvent event, Collector<TableRow> out) {
        if (event.kind == EventKind.BACKFILLED) {
            return; // a backfill's notice to the window operator, not an event
        }
        out.collect(eventRow(event, System.currentTimeMillis()));
    }

    public static TableRow eventRow(CsrEvent event, long ingestedAtMs) {
        return RowFormat.row("events", event.occurredAtMs, RowFormat.object()
                .put("event_id", event.eventId)
                .put("event_type", event.kind.wireName())
                .put("subject", event.subject)
                .put("company_id", event.companyId)
                .put("user_id", event.userId)
                .put("occurred_at", RowFormat.dateTime(event.occurredAtMs))
                .put("occurred_at_ms", event.occurredAtMs)
                .put("payload", event.payload)
                .put("stream_seq", event.streamSeq)
                .put("ingested_at", RowFormat.dateTime(ingestedAtMs)));
    }

    public static TableRow timeseriesRow(CsrEvent event) {
        return RowFormat.row("metrics_timeseries", event.occurredAtMs, RowFormat.object()
                .put("company_id", event.companyId)
                .put("metric", event.name)
                .put("user_id", event.userId)
                .put("ts", RowFormat.dateTime(event.occurredAtMs))
                .put("ts_ms", event.occurredAtMs)
                .put("value", event.value)
                .put("event_id", event.eventId));
    }
}
