package io.csr.common.clickhouse;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.TestNamespace;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The access layer against the real ClickHouse (18.16 here): types, hostile strings, error classification. */
class ClickHouseAccessITCase {
    static final List<String> HOSTILE = List.of(
            "plain",
            "",
            "it's",
            "''",
            "\\",
            "back\\slash\\'quote",
            "line1\nline2\r\nline3",
            "tab\there",
            "nul\0byte",
            "\0",
            "ctrl\u0001\u0002\u001f\u007f",
            "\"double\" `back` quotes",
            "'; DROP TABLE t; --",
            "{\"json\": [1, \"two\"]}",
            "Zürich – 東京 – Кириллица – עברית – العربية",
            "emoji 😀👍🏽 family 👨‍👩‍👧",
            "\u2028\u2029 separators",
            "\uFEFFbom",
            "x".repeat(70_000));

    static ClickHouseAccess ch;

    @BeforeAll
    static void createDatabase() {
        ClickHouseSettings base = ClickHouseSettings.from(TestNamespace.config());
        ch = ClickHouseAccess.open(base.withDatabase(TestNamespace.unique("csr_it_access")));
        assertThat(ch.ping()).as("ClickHouse answers at %s (run bin/csr up)", base.url()).isTrue();
        ch.createDatabaseIfMissing();
    }

    @AfterAll
    static void dropDatabase() {
        if (ch != null) {
            ch.dropDatabase();
            ch.close();
        }
    }

    @Test
    void everyColumnTypeWeUseRoundTrips() {
        ch.execute("CREATE TABLE types (s String, u8 UInt8, u32 UInt32, u64 UInt64, f Float64, "
                + "dt DateTime('UTC'), d Date) ENGINE = MergeTree ORDER BY u32");
        List<Map<String, Object>> rows = new ArrayList<>();
        double[] floats = {0.1, -123.456, 1e-300, 1.7976931348623157E308, 0.0, 42.0};
        for (int i = 0; i < floats.length; i++) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("s", "row" + i);
            row.put("u8", i == 0 ? 255 : i);
            row.put("u32", i);
            row.put("u64", i == 0 ? Long.MAX_VALUE : i * 1_000_000_007L);
            row.put("f", floats[i]);
            row.put("dt", SqlLiteral.dateTimeText(Instant.parse("2026-11-27T10:15:3" + i + "Z")));
            row.put("d", LocalDate.of(2026, 1, 1 + i).toString());
            rows.add(row);
        }
        assertThat(ch.insertRows("types", rows)).isEqualTo(floats.length);

        List<JsonNode> back = ch.query("SELECT s, u8, u32, u64, f, dt, d FROM types ORDER BY u32");
        assertThat(back).hasSize(floats.length);
        for (int i = 0; i < floats.length; i++) {
            JsonNode r = back.get(i);
            assertThat(r.get("s").asText()).isEqualTo("row" + i);
            assertThat(r.get("u8").asInt()).isEqualTo(i == 0 ? 255 : i);
            assertThat(r.get("u64").asLong()).isEqualTo(i == 0 ? Long.MAX_VALUE : i * 1_000_000_007L);
            assertThat(r.get("f").asDouble()).isEqualTo(floats[i]);
            assertThat(r.get("dt").asText()).isEqualTo("2026-11-27 10:15:3" + i);
            assertThat(r.get("d").asText()).isEqualTo(LocalDate.of(2026, 1, 1 + i).toString());
        }
        assertThat(ch.queryLong("SELECT count() AS c FROM types WHERE dt >= "
                + SqlLiteral.dateTime(Instant.parse("2026-11-27T10:15:33Z")))).isEqualTo(3);
        assertThat(ch.queryLong("SELECT count() AS c FROM types WHERE d = " + SqlLiteral.date(LocalDate.of(2026, 1, 2))))
                .isEqualTo(1);
    }

    /** A row type mapped by Jackson both ways. */
    public record Hostile(int id, String s) {
    }

    @Test
    void hostileStringsAreStoredAndReadBackByteExact() {
        ch.execute("CREATE TABLE hostile (id UInt32, s String) ENGINE = MergeTree ORDER BY id");
        List<Hostile> rows = new ArrayList<>();
        for (int i = 0; i < HOSTILE.size(); i++) {
            rows.add(new Hostile(i, HOSTILE.get(i)));
        }
        ch.insertRows("hostile", rows);

        List<Hostile> back = ch.query("SELECT id, s FROM hostile ORDER BY id", Hostile.class);
        assertThat(back).containsExactlyElementsOf(rows);
        // and the literal path: the same strings as WHERE values and as selected literals
        for (int i = 0; i < HOSTILE.size(); i++) {
            String lit = SqlLiteral.string(HOSTILE.get(i));
            assertThat(ch.queryLong("SELECT count() AS c FROM hostile WHERE s = " + lit))
                    .as("rows equal to hostile string #%d", i).isEqualTo(HOSTILE.get(i).isEmpty() ? 1 : countOf(i));
            assertThat(ch.query("SELECT " + lit + " AS s").get(0).get("s").asText())
                    .as("literal #%d read back", i).isEqualTo(HOSTILE.get(i));
        }
        assertThat(ch.queryLong("SELECT count() AS c FROM hostile")).isEqualTo(HOSTILE.size());
    }

    private static long countOf(int i) {
        return HOSTILE.stream().filter(h -> h.equals(HOSTILE.get(i))).count();
    }

    @Test
    void permanentErrorsAreNotRetriable() {
        assertThatThrownBy(() -> ch.query("SELECT * FROM no_such_table"))
                .isInstanceOfSatisfying(ClickHouseAccessException.class, e -> {
                    assertThat(e.retriable()).isFalse();
                    assertThat(e.serverCode()).isEqualTo(60);
                    assertThat(e.getMessage()).contains("no_such_table");
                });
        assertThatThrownBy(() -> ch.execute("CREATE TABLE oops ("))
                .isInstanceOfSatisfying(ClickHouseAccessException.class, e -> assertThat(e.retriable()).isFalse());
        ch.execute("CREATE TABLE typed (n UInt32) ENGINE = MergeTree ORDER BY n");
        assertThatThrownBy(() -> ch.insertJsonEachRow("typed", "{\"n\": \"not a number\"}\n".getBytes()))
                .isInstanceOfSatisfying(ClickHouseAccessException.class, e -> assertThat(e.retriable()).isFalse());
    }

    @Test
    void unreachableServerIsRetriableAndSaysWhatToDo() {
        ClickHouseSettings nowhere = new ClickHouseSettings("http://127.0.0.1:1", "default", "", "csr", false, 2_000);
        try (ClickHouseAccess down = ClickHouseAccess.open(nowhere)) {
            assertThat(down.ping()).isFalse();
            assertThatThrownBy(() -> down.query("SELECT 1"))
                    .isInstanceOfSatisfying(ClickHouseAccessException.class, e -> {
                        assertThat(e.retriable()).isTrue();
                        assertThat(e.getMessage()).contains("CLICKHOUSE_URL");
                    });
        }
    }
}
