package io.csr.job.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;
import io.csr.job.model.CsrEvent;
import io.csr.job.model.EventKind;
import io.csr.job.sink.clickhouse.TableRow;
import org.apache.flink.util.Collector;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class EventRowsTest {
    private static final long OCCURRED_AT_MS = Instant.parse("2026-11-27T10:15:30.123Z").toEpochMilli();
    private static final long INGESTED_AT_MS = Instant.parse("2026-11-27T10:15:31.999Z").toEpochMilli();

    private static CsrEvent event(EventKind kind, String name) {
        CsrEvent e = new CsrEvent();
        e.kind = kind;
        e.eventId = "e-1";
        e.companyId = "acme";
        e.userId = "u1";
        e.name = name;
        e.value = 0.75;
        e.occurredAtMs = OCCURRED_AT_MS;
        e.subject = kind == EventKind.Q2Q ? "q2q.confidence" : "metrics.sroi";
        e.streamSeq = 42;
        e.payload = "{\"raw\":true}";
        return e;
    }

    @Test
    void eventRowHasExactlyTheEventsColumns() throws Exception {
        JsonNode row = Json.mapper().readTree(EventRows.eventRow(event(EventKind.Q2Q, "q2q_confidence"), INGESTED_AT_MS).json);
        assertThat(names(row)).containsExactly("event_id", "event_type", "subject", "company_id", "user_id",
                "occurred_at", "occurred_at_ms", "payload", "stream_seq", "ingested_at");
        assertThat(row.get("event_type").asText()).isEqualTo("q2q");
        assertThat(row.get("occurred_at").asText()).isEqualTo("2026-11-27 10:15:30");
        assertThat(row.get("occurred_at_ms").asLong()).isEqualTo(OCCURRED_AT_MS);
        assertThat(row.get("ingested_at").asText()).isEqualTo("2026-11-27 10:15:31");
        assertThat(row.get("payload").asText()).isEqualTo("{\"raw\":true}");
        assertThat(row.get("stream_seq").asLong()).isEqualTo(42);
    }

    @Test
    void numericEventsTimeseriesRowIsRenderedAfterTheWindowOperator() throws Exception {
        CsrEvent event = event(EventKind.METRIC, "sroi");
        assertThat(collect(event)).extracting(r -> r.table).containsExactly("events");
        TableRow row = EventRows.timeseriesRow(event);
        assertThat(row.table).isEqualTo("metrics_timeseries");
        assertThat(row.partition).isEqualTo(202611);
        JsonNode ts = Json.mapper().readTree(row.json);
        assertThat(names(ts)).containsExactly("company_id", "metric", "user_id", "ts", "ts_ms", "value", "event_id");
        assertThat(ts.get("metric").asText()).isEqualTo("sroi");
        assertThat(ts.get("ts").asText()).isEqualTo("2026-11-27 10:15:30");
        assertThat(ts.get("value").asDouble()).isEqualTo(0.75);
    }

    @Test
    void journeyEventGetsOnlyAnEventsRow() {
        assertThat(collect(event(EventKind.JOURNEY, "onboarded"))).extracting(r -> r.table).containsExactly("events");
    }

    private static List<TableRow> collect(CsrEvent event) {
        List<TableRow> rows = new ArrayList<>();
        new EventRows().flatMap(event, new Collector<>() {
            @Override
            public void collect(TableRow record) {
                rows.add(record);
            }

            @Override
            public void close() {
            }
        });
        return rows;
    }

    private static List<String> names(JsonNode json) {
        List<String> names = new ArrayList<>();
        json.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
