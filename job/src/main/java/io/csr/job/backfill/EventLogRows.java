package io.csr.job.backfill;

import io.csr.job.model.RawMessage;
import org.apache.flink.connector.jdbc.core.datastream.source.reader.extractor.ResultExtractor;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.nio.charset.StandardCharsets;

/**
 * An {@code event_log} row as the live job sees a JetStream message: subject and payload as published, the row id as
 * the sequence (so an invalid row becomes the dead letter {@code (event_log, id)} exactly once, however often a
 * backfill runs), {@code recorded_at} as the broker timestamp (the validator's clock-skew check).
 */
public final class EventLogRows implements ResultExtractor<RawMessage> {
    private static final long serialVersionUID = 1L;
    public static final String STREAM = "event_log";

    @Override
    public RawMessage extract(ResultSet rs) throws SQLException {
        BackfillProgress.READ.increment();
        return new RawMessage(STREAM, rs.getString("subject"), rs.getLong("id"), rs.getLong("recorded_ms"),
                rs.getString("payload").getBytes(StandardCharsets.UTF_8));
    }
}
