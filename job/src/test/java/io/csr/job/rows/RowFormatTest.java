package io.csr.job.rows;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;
import io.csr.job.sink.clickhouse.TableRow;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class RowFormatTest {
    private static final DateTimeFormatter REFERENCE =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneOffset.UTC);

    @Test
    void dateTimeIsClickHouseTextTruncatedToTheSecond() {
        assertThat(RowFormat.dateTime(0)).isEqualTo("1970-01-01 00:00:00");
        assertThat(RowFormat.dateTime(Instant.parse("2026-11-27T10:15:30.999Z").toEpochMilli())).isEqualTo("2026-11-27 10:15:30");
        assertThat(RowFormat.dateTime(Instant.parse("2105-12-31T23:59:59Z").toEpochMilli())).isEqualTo("2105-12-31 23:59:59");
        Random random = new Random(3);
        for (int i = 0; i < 10_000; i++) {
            long ms = (long) (random.nextDouble() * 4_291_747_199_000L);
            assertThat(RowFormat.dateTime(ms)).isEqualTo(REFERENCE.format(Instant.ofEpochMilli(ms / 1000 * 1000)));
        }
    }

    @Test
    void rowIsOneJsonLineWithColumnsInOrderAndTextEscaped() throws Exception {
        TableRow row = RowFormat.row("t", RowFormat.object().put("s", "a\"b\\c\n\u0001é").put("n", 18_446_744_073_709L)
                .put("d", 0.1));
        assertThat(row.table).isEqualTo("t");
        assertThat(row.json).doesNotContain("\n").startsWith("{\"s\":");
        JsonNode json = Json.mapper().readTree(row.json);
        assertThat(json.get("s").asText()).isEqualTo("a\"b\\c\n\u0001é");
        assertThat(json.get("n").asLong()).isEqualTo(18_446_744_073_709L);
        assertThat(json.get("d").asDouble()).isEqualTo(0.1);
    }
}
