package io.csr.perf.jmh;

import io.csr.common.contract.RedisStreams;
import io.csr.gateway.stream.SseFrames;
import io.csr.gateway.stream.Update;
import io.csr.job.aggregate.WindowAccumulator;
import io.csr.job.model.CsrEvent;
import io.csr.job.model.RawMessage;
import io.csr.job.pipeline.EventRows;
import io.csr.job.sink.clickhouse.TableRow;
import io.csr.job.validate.EventParser;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.resps.StreamEntry;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The per-event hot paths, each on the real classes: what the job does to every event (parse + validate, the two
 * JSONEachRow renderings for {@code events} and {@code metrics_timeseries}, the sketch update of a window) and what
 * the gateway does per Redis entry (the SSE frame). Run with {@code -prof gc} for allocation per operation.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(1)
public class HotPathBenchmarks {
    private EventParser parser;
    private RawMessage message;
    private CsrEvent event;
    private WindowAccumulator sketch;
    private StreamEntry entry;
    private double value;

    @Setup(Level.Trial)
    public void setUp() {
        parser = new EventParser();
        String body = "{\"eventId\":\"evt-000123456\",\"companyId\":\"acme\",\"userId\":\"user-42\",\"occurredAt\":\""
                + Instant.now().minusSeconds(5) + "\",\"value\":42.5}";
        message = new RawMessage("CSR_EVENTS", "metrics.hours_volunteered", 123_456L, System.currentTimeMillis(),
                body.getBytes(StandardCharsets.UTF_8));
        EventParser.Result r = parser.parse(message);
        if (r.event() == null) {
            throw new IllegalStateException("the benchmark's fixture event is invalid: " + r.error());
        }
        event = r.event();
        sketch = new WindowAccumulator();
        entry = new StreamEntry(new StreamEntryID(System.currentTimeMillis(), 7), Map.of(
                RedisStreams.FIELD_TYPE, "metric_updated",
                RedisStreams.FIELD_DATA, "{\"companyId\":\"acme\",\"metric\":\"hours_volunteered\",\"window\":\"1m\","
                        + "\"windowStart\":\"2026-11-29T21:00:00Z\",\"count\":120,\"sum\":5100.0,\"min\":1.0,\"max\":99.0,"
                        + "\"avg\":42.5,\"p50\":41.0,\"p75\":60.2,\"p95\":91.3,\"stddev\":12.4,\"version\":240,\"final\":false}"));
    }

    @Benchmark
    public EventParser.Result eventParseAndValidate() {
        return parser.parse(message);
    }

    @Benchmark
    public void sketchUpdate() {
        value = value >= 1000 ? 0.5 : value + 1.37; // spread over many bins, as real values are
        sketch.add(value);
    }

    @Benchmark
    public Update sseFrameEncode() {
        return SseFrames.toUpdate("acme", entry);
    }

    @Benchmark
    public void jsonEachRowEncode(Blackhole bh) {
        TableRow events = EventRows.eventRow(event, 1_764_450_000_000L);
        TableRow timeseries = EventRows.timeseriesRow(event);
        bh.consume(events);
        bh.consume(timeseries);
    }
}
