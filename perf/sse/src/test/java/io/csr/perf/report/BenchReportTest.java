package io.csr.perf.report;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class BenchReportTest {
    private static final String OURS_1000 = """
            {"target":"ours","connectionsRequested":1000,"connectionsStreaming":1000,"deliveriesPerSec":4000,
             "deliveredRatio":1.0,"latencyMs":{"p50":1.5,"p99":20.0},"serverCpuSecondsPer100kDeliveries":2.5,
             "serverRssPerIdleConnectionBytes":33792,"heapPerIdleConnectionBytes":29696,"evictionsOrServerCloses":0,
             "loadAverage":"1.00 1.00 1.00 1/1 1","timeline":[{"second":0,"deliveries":4000,"p50Ms":1.5,"p99Ms":20.0}]}""";
    private static final String NCHAN_1000 = """
            {"target":"nchan","connectionsRequested":1000,"connectionsStreaming":1000,"deliveriesPerSec":4000,
             "deliveredRatio":1.0,"latencyMs":{"p50":1.0,"p99":10.0},"serverCpuSecondsPer100kDeliveries":1.5,
             "serverRssPerIdleConnectionBytes":10240,"heapPerIdleConnectionBytes":-1,"evictionsOrServerCloses":0,
             "loadAverage":"1.00 1.00 1.00 1/1 1","timeline":[{"second":0,"deliveries":4000,"p50Ms":1.0,"p99Ms":10.0}]}""";
    private static final String PUSHPIN_LOSSY = """
            {"target":"pushpin","connectionsRequested":1000,"connectionsStreaming":800,"deliveriesPerSec":100,
             "deliveredRatio":0.5,"latencyMs":{"p50":0.5,"p99":1.0},"subscribesRetried":37,"timeline":[]}""";

    @Test
    void tableNamesEveryServerAndTheRatioToTheBestPeerThatDeliveredEverything() throws Exception {
        List<JsonNode> runs = List.of(Json.mapper().readTree(OURS_1000), Json.mapper().readTree(NCHAN_1000),
                Json.mapper().readTree(PUSHPIN_LOSSY));

        String table = BenchReport.fanoutTable(runs);

        assertThat(table).contains("| 1,000 | ours | not recorded | 1,000 | 0 | 4,000 | 100.0 % | 1.50 | 20 | 2.50 | 33 | 29 | 0 | 1.00 |");
        assertThat(table).contains("| 1,000 | nchan |").contains("| 1,000 | pushpin | not recorded | 800 | 0 |");
        // pushpin's p99 is lower but it lost half the deliveries, so nchan is the best peer: 20 / 10
        assertThat(table).contains("1,000 conns 2.00×");
        assertThat(table).contains("max connections held: ours 1,000; nchan 1,000; pushpin 800;");
        assertThat(table).contains("subscribes answered other than 200 and opened again: pushpin at 1,000 conns 37;")
                .doesNotContain("ours at 1,000 conns");
    }

    @Test
    void fanoutWritesCombinedJsonMarkdownAndOneSelfContainedHtmlReport(@TempDir Path dir) throws Exception {
        Path run = Files.createDirectories(dir.resolve("fanout-x.d"));
        Files.writeString(run.resolve("fanout-01000c-nchan.json"), NCHAN_1000);
        Files.writeString(run.resolve("fanout-01000c-ours.json"), OURS_1000);

        BenchReport.fanout(run, dir.resolve("fanout-x").toString());

        JsonNode all = Json.mapper().readTree(dir.resolve("fanout-x.json").toFile());
        assertThat(all.path("runs")).hasSize(2);
        assertThat(all.path("runs").get(0).path("target").asText()).isEqualTo("ours");
        assertThat(Files.readString(dir.resolve("fanout-x.md"))).contains("| 1,000 | nchan |");
        String html = Files.readString(dir.resolve("report.html"));
        assertThat(html).contains("<svg").contains("ours").contains("nchan").doesNotContain("<script").doesNotContain("src=");
    }

    @Test
    void jmhJsonBecomesOneRowPerBenchmarkWithTimeAndAllocation(@TempDir Path dir) throws Exception {
        Path raw = dir.resolve("raw.json");
        Files.writeString(raw, """
                [{"benchmark":"io.csr.perf.jmh.HotPathBenchmarks.sseFrameEncode","primaryMetric":{"score":92.1,"scoreError":3.5},
                  "secondaryMetrics":{"gc.alloc.rate.norm":{"score":696.0},"gc.alloc.rate":{"score":7202.5}}}]""");

        BenchReport.jmh(raw, dir.resolve("jmh-x").toString());

        JsonNode row = Json.mapper().readTree(dir.resolve("jmh-x.json").toFile()).path("rows").get(0);
        assertThat(row.path("benchmark").asText()).isEqualTo("sseFrameEncode");
        assertThat(row.path("nsPerOp").asDouble()).isEqualTo(92.1);
        assertThat(row.path("bytesPerOp").asDouble()).isEqualTo(696.0);
        assertThat(Files.readString(dir.resolve("jmh-x.md"))).contains("| sseFrameEncode | 92.1 | 3.50 | 696 | 7,203 |");
        assertThat(Files.readString(dir.resolve("report.html"))).contains("sseFrameEncode");
    }

    @Test
    void replayRowsComeOutOursFirstWithACatchUpChart(@TempDir Path dir) throws Exception {
        Path run = Files.createDirectories(dir.resolve("replay-x.d"));
        Files.writeString(run.resolve("replay-nchan.json"), "{\"server\":\"nchan\",\"missed\":10000,\"catchUpMedianMs\":120.0}");
        Files.writeString(run.resolve("replay-ours.json"), "{\"server\":\"ours\",\"missed\":10000,\"catchUpMedianMs\":480.0}");

        BenchReport.replay(run, dir.resolve("replay-x").toString());

        JsonNode all = Json.mapper().readTree(dir.resolve("replay-x.json").toFile());
        assertThat(all.path("rows").get(0).path("server").asText()).isEqualTo("ours");
        assertThat(all.path("charts").get(0).path("series").path("nchan").get(0).asDouble()).isEqualTo(120.0);
        assertThat(Files.readString(dir.resolve("report.html"))).contains("catch-up after 10000 missed events");
    }

    @Test
    void incompleteRunsAndMissingResultsAreMarkedInTheTableTheJsonAndEveryChart(@TempDir Path dir) throws Exception {
        Path run = Files.createDirectories(dir.resolve("fanout-y.d"));
        Files.writeString(run.resolve("fanout-01000c-nchan.json"), NCHAN_1000.replaceFirst("\\{", "{\"complete\":true,\"lost\":{\"deliveriesMissing\":0},"));
        Files.writeString(run.resolve("fanout-01000c-ours.json"), OURS_1000.replaceFirst("\\{",
                "{\"complete\":false,\"lost\":{\"connectionsNotStreaming\":0,\"deliveriesMissing\":5},"));

        BenchReport.fanout(run, dir.resolve("fanout-y").toString(), List.of(1000), List.of("ours", "nchan", "pushpin"));

        JsonNode all = Json.mapper().readTree(dir.resolve("fanout-y.json").toFile());
        assertThat(all.path("complete").asBoolean()).isFalse();
        assertThat(all.path("runs")).hasSize(3);
        String md = Files.readString(dir.resolve("fanout-y.md"));
        assertThat(md).contains("| 1,000 | ours | NO (deliveriesMissing 5) |").contains("| 1,000 | nchan | yes |")
                .contains("| 1,000 | pushpin | NO (result none: the client failed or was stopped by its timeout (see its log)) |");
        assertThat(md).as("no ratio against an incomplete run of ours").doesNotContain("conns 2.00×");
        String html = Files.readString(dir.resolve("report.html"));
        assertThat(html).contains("ours (INCOMPLETE)").contains("pushpin (INCOMPLETE)").contains("INCOMPLETE: the rows marked NO below");
    }

    @Test
    void theReportShowsTheNewestRunByTheTimeRecordedInItNotByFileDate(@TempDir Path dir) throws Exception {
        Path older = dir.resolve("e2e-b.json");
        Path newer = dir.resolve("e2e-a.json");
        Files.writeString(newer, "{\"scenario\":\"e2e\",\"timestamp\":\"2026-11-30T11:05:56Z\",\"rows\":[{\"rate\":1000,\"p50Ms\":5.8}]}");
        Files.writeString(older, "{\"scenario\":\"e2e\",\"timestamp\":\"2026-11-29T21:00:47Z\",\"rows\":[{\"rate\":1000,\"p50Ms\":161}]}");
        // a checkout: the older run's file looks newest on disk
        Files.setLastModifiedTime(newer, java.nio.file.attribute.FileTime.fromMillis(1_000));
        Files.setLastModifiedTime(older, java.nio.file.attribute.FileTime.fromMillis(2_000_000_000_000L));

        assertThat(BenchReport.newest(dir, "e2e-")).contains(newer);
        String html = Files.readString(BenchReport.html(dir));
        assertThat(html).contains("Run recorded at <b>2026-11-30T11:05:56Z</b> (file <code>e2e-a.json</code>)")
                .contains("5.80").doesNotContain(">161<");
        assertThat(html).as("the result file is linked, not copied into the report")
                .contains("<a href='e2e-a.json'>e2e-a.json</a>").doesNotContain("&quot;p50Ms&quot;");
    }

    @Test
    void aSystemAThousandTimesSlowerGetsALogAxisSoTheOthersAreNotFlatAtZero() {
        Map<String, double[]> series = new java.util.LinkedHashMap<>();
        series.put("ours", new double[]{5.8});
        series.put("nchan", new double[]{9.0});
        series.put("pushpin", new double[]{15_000});
        Svg.Scale scale = Svg.Scale.of(series.values());

        assertThat(scale.log()).isTrue();
        assertThat(scale.height(5.8, 200)).as("ours stays readable beside pushpin's 15 s (a linear axis: 0.08 of 200 px)").isGreaterThan(25);
        assertThat(scale.height(15_000, 200)).isGreaterThan(scale.height(9.0, 200));
        assertThat(Svg.bars("p99", "ms", List.of("1,000 conns"), series)).contains("ms (log scale)");
        assertThat(Svg.Scale.of(List.of(new double[]{5.8, 9.0})).log()).as("similar values keep a linear axis from 0").isFalse();
    }

    @Test
    void aResultWithoutAFigureShowsNotAvailableRatherThanZero() {
        Map<String, double[]> series = Map.of("ours (INCOMPLETE)", new double[]{Double.NaN});
        assertThat(Svg.bars("p99", "ms", List.of("1,000 conns"), series)).contains(">n/a<");
    }

    @Test
    void niceAxisMaximumCoversTheValue() {
        assertThat(Svg.niceMax(7.3)).isEqualTo(10);
        assertThat(Svg.niceMax(230)).isEqualTo(250);
        assertThat(Svg.niceMax(0)).isEqualTo(1);
    }
}
