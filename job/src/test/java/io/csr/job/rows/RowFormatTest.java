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
    void dateTimeAndMonthMatchJavaTimeAcrossDaysYearsAndBeforeTheEpoch() {
        long[] edges = {-1, -999, -1000, -86_400_000L, Instant.parse("2024-02-29T23:59:59.999Z").toEpochMilli(),
                Instant.parse("2024-03-01T00:00:00Z").toEpochMilli(), Instant.parse("0001-01-01T00:00:00Z").toEpochMilli(),
                Instant.parse("9999-12-31T23:59:59Z").toEpochMilli(), Instant.parse("+10000-01-01T00:00:00Z").toEpochMilli()};
        Random random = new Random(5);
        long[] samples = new long[edges.length + 20_000];
        System.arraycopy(edges, 0, samples, 0, edges.length);
        for (int i = edges.length; i < samples.length; i++) {
            // runs of nearby instants (the one-day cache hits) and jumps across millennia (it misses)
            samples[i] = i % 100 == 0 ? random.nextLong(-70_000_000_000_000L, 300_000_000_000_000L)
                    : samples[i - 1] + random.nextLong(-5_000_000L, 90_000_000L);
        }
        for (long ms : samples) {
            Instant second = Instant.ofEpochSecond(Math.floorDiv(ms, 1000L));
            assertThat(RowFormat.dateTime(ms)).as("dateTime(%d)", ms).isEqualTo(REFERENCE.format(second));
            var date = Instant.ofEpochMilli(ms).atZone(ZoneOffset.UTC).toLocalDate();
            assertThat(RowFormat.month(ms)).as("month(%d)", ms).isEqualTo(date.getYear() * 100 + date.getMonthValue());
        }
    }

    @Test
    void rowLineWritesWhatJacksonWritesForTheSameTreeExceptDoublesInPlainNotation() throws Exception {
        Random random = new Random(7);
        String[] strings = {"", "plain", "a\"b\\c\n\r\t\u0001\u001f\u007f", "Zürich-東京 😀", "</script>", "\u2028\u2029", null};
        double[] doubles = {0.0, -0.0, 0.1, 1e-300, 1e300, -7.25, Double.MIN_VALUE, Double.NaN,
                Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY};
        for (int i = 0; i < 2_000; i++) {
            var tree = Json.mapper().createObjectNode();
            RowLine line = RowFormat.object();
            java.util.Map<String, Double> doublesWritten = new java.util.HashMap<>();
            for (int f = 0; f < 1 + random.nextInt(8); f++) {
                String name = "f" + f + (f == 3 ? "\"q" : "");
                switch (random.nextInt(4)) {
                    case 0 -> {
                        String v = random.nextInt(3) == 0 ? randomText(random) : strings[random.nextInt(strings.length)];
                        tree.put(name, v);
                        line.put(name, v);
                    }
                    case 1 -> {
                        long v = random.nextInt(3) == 0 ? random.nextLong() : new long[] {0, -1, Long.MIN_VALUE, Long.MAX_VALUE}[random.nextInt(4)];
                        tree.put(name, v);
                        line.put(name, v);
                    }
                    case 2 -> {
                        int v = random.nextInt();
                        tree.put(name, v);
                        line.put(name, v);
                    }
                    default -> {
                        double v = random.nextInt(3) == 0 ? random.nextGaussian() * Math.pow(10, random.nextInt(40) - 20)
                                : doubles[random.nextInt(doubles.length)];
                        tree.put(name, "double");
                        line.put(name, v);
                        doublesWritten.put(name, v);
                    }
                }
            }
            String json = RowFormat.row("t", line).json;
            var written = (com.fasterxml.jackson.databind.node.ObjectNode) Json.mapper().readTree(json);
            java.util.Map<String, String> numberTexts = new java.util.HashMap<>();
            try (var parser = Json.mapper().getFactory().createParser(json)) {
                for (var token = parser.nextToken(); token != null; token = parser.nextToken()) {
                    if (token.isNumeric()) {
                        numberTexts.put(parser.currentName(), parser.getText()); // the text as written
                    }
                }
            }
            for (var d : doublesWritten.entrySet()) {
                double v = d.getValue();
                if (Double.isFinite(v)) {
                    String text = numberTexts.get(d.getKey());
                    assertThat(text).as("%s", v).doesNotContainIgnoringCase("e");
                    assertThat(Double.doubleToRawLongBits(new java.math.BigDecimal(text).doubleValue()) == Double.doubleToRawLongBits(v)
                            || v == 0 && text.equals(Double.toString(v))).as("%s written as %s", v, text).isTrue();
                } else {
                    assertThat(written.get(d.getKey()).asText()).isEqualTo(Double.toString(v));
                }
                written.put(d.getKey(), "double");
            }
            assertThat(Json.mapper().writeValueAsString(written)).isEqualTo(Json.mapper().writeValueAsString(tree));
        }
    }

    private static String randomText(Random random) {
        StringBuilder b = new StringBuilder();
        for (int i = random.nextInt(20); i > 0; i--) {
            b.append((char) random.nextInt(random.nextBoolean() ? 0x80 : 0xD7FF));
        }
        return b.toString();
    }

    @Test
    void doublesAreWrittenWithoutExponentSoClickHouseReadsThemExactly() {
        // issue 27: Double.toString gives "1.1649895E7", which ClickHouse stores as 11649894.999999998
        assertThat(RowFormat.object().put("sum", 11_649_895.0).toJson()).isEqualTo("{\"sum\":11649895}");
        assertThat(RowFormat.object().put("v", 1.23456789012E7).toJson()).isEqualTo("{\"v\":12345678.9012}");
        assertThat(RowFormat.object().put("v", 7.5E-6).toJson()).isEqualTo("{\"v\":0.0000075}");
        assertThat(RowFormat.object().put("v", -2.5E20).toJson()).isEqualTo("{\"v\":-250000000000000000000}");
        assertThat(RowFormat.object().put("v", 0.0).toJson()).isEqualTo("{\"v\":0.0}");
        assertThat(RowFormat.object().put("v", -0.0).toJson()).isEqualTo("{\"v\":-0.0}");
        assertThat(RowFormat.object().put("v", 2.47).toJson()).isEqualTo("{\"v\":2.47}");
    }

    @Test
    void arrayColumnsAreWrittenAsJacksonWritesTheSameArrays() throws Exception {
        int[] keys = {1_048_576, -3, 0, Integer.MAX_VALUE};
        long[] counts = {1, Long.MAX_VALUE, 0};
        var tree = Json.mapper().createObjectNode();
        tree.putArray("empty");
        tree.putArray("q_keys").addAll(java.util.Arrays.stream(keys).mapToObj(Json.mapper().getNodeFactory()::numberNode).toList());
        tree.putArray("q_counts").addAll(java.util.Arrays.stream(counts).mapToObj(Json.mapper().getNodeFactory()::numberNode).toList());
        String json = RowFormat.row("t", RowFormat.object().put("empty", new long[0]).put("q_keys", keys).put("q_counts", counts)).json;
        assertThat(json.strip()).isEqualTo(Json.mapper().writeValueAsString(tree));
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
