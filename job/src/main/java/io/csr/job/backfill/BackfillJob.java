package io.csr.job.backfill;

import io.csr.common.postgres.PostgresSettings;
import io.csr.job.config.JobOptions;
import io.csr.job.aggregate.WindowAggregator;
import io.csr.job.dedup.EventDeduplicator;
import io.csr.job.model.CsrEvent;
import io.csr.job.model.EventKind;
import io.csr.job.model.RawMessage;
import io.csr.job.pipeline.EventRows;
import io.csr.job.sink.clickhouse.TableRow;
import io.csr.job.validate.EventValidator;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.jdbc.core.datastream.source.JdbcSource;
import org.apache.flink.connector.jdbc.split.JdbcGenericParameterValuesProvider;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.time.Duration;

/**
 * The backfill: a bounded Flink job over PostgreSQL {@code event_log} through the live job's own validation, dedup
 * and exactly-once ClickHouse sink.
 * <pre>
 * event_log (JdbcSource, one split per time range) ─► validate ─► dedup ─┬─► events rows ─────────────────────┐
 *                                                     └ dead letters ─────┼─► keyBy company|metric ─► metrics_timeseries rows ┤─► ClickHouse sink
 *                                                                         └─► journey events ─► NATS (the live job's stream)  │   after each commit:
 *                                                                                                                              │   recompute every window
 *                                                                                                                              └── of the committed rows
 * </pre>
 * <b>Windows are never computed from history alone.</b> {@code metric_windows} is keyed by window, so a window
 * computed from history would replace the live job's row for the same window instead of adding to it. Instead the
 * sink's commit hook ({@code correction.WindowRecompute}, the late-correction mechanism) recomputes every window the
 * committed {@code metrics_timeseries} rows touch from {@code metrics_timeseries FINAL} — history and live alike —
 * with version 2·count + 1. Rows of one (company, metric) are routed by key to one writer and committer, so the
 * recomputation sees all of them. Running the same backfill twice changes nothing: the rows collapse under FINAL and
 * the recomputation finds the same rows and writes the same version. Journey events go to the live job (see
 * {@link JourneyForwarder}). When the job is done, {@link BackfillMain} tells the live job which span of each
 * (company, metric) was recomputed ({@link BackfillNotices}): the live job then never writes a window of it from its
 * state, which holds only the live part of it.
 */
public final class BackfillJob {
    public static final String SOURCE_UID = "backfill-event-log";

    private final Source<RawMessage, ?, ?> source;
    private final Sink<TableRow> tableSink;
    private final Sink<CsrEvent> journeySink;
    private final JobOptions options;

    /** @param journeySink where journey events go (the live stream), or null to leave journeys out */
    public BackfillJob(Source<RawMessage, ?, ?> source, Sink<TableRow> tableSink, Sink<CsrEvent> journeySink, JobOptions options) {
        this.source = source;
        this.tableSink = tableSink;
        this.journeySink = journeySink;
        this.options = options;
    }

    /** The JDBC source over {@code event_log}: one split per {@link BackfillRange#splits()} time range, read in parallel. */
    public static JdbcSource<RawMessage> eventLogSource(PostgresSettings postgres, BackfillRange range) {
        return JdbcSource.<RawMessage>builder()
                .setDBUrl(postgres.url())
                .setDriverName("org.postgresql.Driver")
                .setUsername(postgres.user())
                .setPassword(postgres.password() == null ? "" : postgres.password())
                .setConnectionProperty("currentSchema", postgres.schema())
                .setSql(range.sql())
                .setJdbcParameterValuesProvider(new JdbcGenericParameterValuesProvider(range.splits()))
                .setResultExtractor(new EventLogRows())
                .setTypeInformation(TypeInformation.of(RawMessage.class))
                .setResultSetFetchSize(5_000)
                .setDeliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE) // re-read rows are dropped by dedup and collapse under FINAL
                .build();
    }

    public JobClient executeAsync(StreamExecutionEnvironment env) throws Exception {
        wire(env);
        return env.executeAsync("csr-backfill");
    }

    public void wire(StreamExecutionEnvironment env) {
        TypeInformation<TableRow> rowType = TypeInformation.of(TableRow.class);
        DataStream<RawMessage> raw = env.fromSource(source, WatermarkStrategy.noWatermarks(), "event_log").uid(SOURCE_UID);
        SingleOutputStreamOperator<CsrEvent> valid = raw.process(new EventValidator()).name("validate (Contract 1)").uid("backfill-validate");
        DataStream<TableRow> deadLetters = valid.getSideOutput(EventValidator.DEAD_LETTERS);
        DataStream<CsrEvent> unique = valid
                .keyBy(EventDeduplicator::key, Types.STRING)
                .process(new EventDeduplicator(Duration.ofMillis(options.dedupTtlMs())))
                .name("dedup eventId").uid("backfill-dedup");
        DataStream<TableRow> eventRows = unique.flatMap(new EventRows()).returns(rowType)
                .name("events rows").uid("backfill-event-rows");
        // keyed like the live window operator: one (company, metric) → one sink writer/committer, so the window
        // recomputation after a commit sees every row of that key
        DataStream<TableRow> timeseriesRows = unique
                .filter(CsrEvent::isNumeric).name("numeric events").uid("backfill-numeric")
                .keyBy(WindowAggregator::key, Types.STRING)
                .map(EventRows::timeseriesRow).returns(rowType)
                .name("metrics_timeseries rows").uid("backfill-timeseries-rows");
        eventRows.union(timeseriesRows, deadLetters).sinkTo(tableSink).name("clickhouse-exactly-once").uid("backfill-clickhouse-sink");
        if (journeySink != null) {
            unique.filter(e -> e.kind == EventKind.JOURNEY).name("journey events").uid("backfill-journeys")
                    .sinkTo(journeySink).name("journeys → live job").uid("backfill-journey-forwarder");
        }
    }
}
