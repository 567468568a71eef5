package io.csr.perf.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.csr.common.json.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * Turns the per-scenario JSON files of one benchmark run into what a person reads: one table (stdout and a Markdown
 * summary), one combined JSON, and the self-contained HTML report {@code perf/results/report.html} that shows the
 * newest run of every scenario (fan-out, e2e, replay, ingest) with ours next to each peer.
 * <pre>
 * BenchReport fanout RUN_DIR OUT_BASE   # RUN_DIR holds fanout-&lt;N&gt;c-&lt;target&gt;.json; writes OUT_BASE.json/.md
 * BenchReport html RESULTS_DIR          # (re)writes RESULTS_DIR/report.html
 * </pre>
 */
public final class BenchReport {
    private BenchReport() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length >= 3 && args[0].equals("fanout")) {
            fanout(Path.of(args[1]), args[2]);
        } else if (args.length >= 3 && args[0].equals("replay")) {
            replay(Path.of(args[1]), args[2]);
        } else if (args.length >= 3 && args[0].equals("jmh")) {
            jmh(Path.of(args[1]), args[2]);
        } else if (args.length >= 2 && args[0].equals("html")) {
            Path out = html(Path.of(args[1]));
            System.out.println("HTML report: " + out);
        } else {
            throw new IllegalArgumentException("usage: BenchReport fanout RUN_DIR OUT_BASE | replay RUN_DIR OUT_BASE | jmh JMH_JSON OUT_BASE | html RESULTS_DIR");
        }
    }

    static void fanout(Path runDir, String outBase) throws IOException {
        List<JsonNode> scenarios = new ArrayList<>();
        try (Stream<Path> files = Files.list(runDir)) {
            for (Path p : files.filter(f -> f.getFileName().toString().endsWith(".json")).sorted().toList()) {
                scenarios.add(Json.mapper().readTree(p.toFile()));
            }
        }
        if (scenarios.isEmpty()) {
            throw new IllegalStateException("no scenario results under " + runDir + "; did every client run fail? (output above)");
        }
        scenarios.sort(Comparator.comparingInt((JsonNode n) -> n.path("connectionsRequested").asInt())
                .thenComparingInt(n -> order(n.path("target").asText())));
        ObjectNode all = Json.mapper().createObjectNode();
        all.put("scenario", "fanout");
        all.put("timestamp", Instant.now().toString());
        all.put("note", "client, servers under test, Redis and the other services share the same machine; compare ratios within one run");
        ArrayNode arr = all.putArray("runs");
        scenarios.forEach(arr::add);
        String table = fanoutTable(scenarios);
        System.out.println();
        System.out.println(table);
        Path json = Path.of(outBase + ".json");
        Files.createDirectories(json.toAbsolutePath().getParent());
        Files.writeString(json, Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(all) + "\n");
        Files.writeString(Path.of(outBase + ".md"), "# SSE fan-out: ours vs nchan vs Pushpin — " + all.get("timestamp").asText()
                + "\n\nSame client (perf/sse SseBench), same payload, same connection counts and publish rate; "
                + "load average at each run in the JSON.\n\n" + table + "\n");
        System.out.println("results: " + json + " and " + outBase + ".md");
        System.out.println("HTML report: " + html(json.toAbsolutePath().getParent()));
    }

    /** Replay: one row per server (files written by ReplayBench), a bar chart of the catch-up time. */
    static void replay(Path runDir, String outBase) throws IOException {
        List<JsonNode> rows = new ArrayList<>();
        try (Stream<Path> files = Files.list(runDir)) {
            for (Path p : files.filter(f -> f.getFileName().toString().endsWith(".json")).sorted().toList()) {
                rows.add(Json.mapper().readTree(p.toFile()));
            }
        }
        if (rows.isEmpty()) {
            throw new IllegalStateException("no replay results under " + runDir + "; did every client run fail? (output above)");
        }
        rows.sort(Comparator.comparingInt(n -> order(n.path("server").asText())));
        ObjectNode all = Json.mapper().createObjectNode();
        all.put("scenario", "replay");
        all.put("timestamp", Instant.now().toString());
        all.put("note", "a client misses N events, reconnects with Last-Event-ID; time until the last one arrived (same machine for all)");
        ArrayNode arr = all.putArray("rows");
        rows.forEach(arr::add);
        ObjectNode chart = all.putArray("charts").addObject();
        chart.put("title", "catch-up after " + rows.get(0).path("missed").asInt() + " missed events (median, ms)");
        chart.put("unit", "ms");
        chart.putArray("groups").add("catch-up");
        ObjectNode series = chart.putObject("series");
        rows.forEach(r -> series.putArray(r.path("server").asText()).add(r.path("catchUpMedianMs").asDouble()));
        StringBuilder md = new StringBuilder("| server | missed | first event ms | caught up ms (median) | max | events/s | gaps | repeats | resets |\n|---|---|---|---|---|---|---|---|---|\n");
        for (JsonNode r : rows) {
            md.append(String.format(Locale.ROOT, "| %s | %,d | %s | %s | %s | %,d | %d | %d | %d |%n", r.path("server").asText(),
                    r.path("missed").asInt(), Svg.num(r.path("firstEventMedianMs").asDouble()), Svg.num(r.path("catchUpMedianMs").asDouble()),
                    Svg.num(r.path("catchUpMaxMs").asDouble()), r.path("replayEventsPerSec").asLong(), r.path("gaps").asLong(),
                    r.path("repeatsSeen").asLong(), r.path("resets").asLong()));
        }
        System.out.println();
        System.out.println(md);
        Path json = Path.of(outBase + ".json");
        Files.writeString(json, Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(all) + "\n");
        Files.writeString(Path.of(outBase + ".md"), "# Replay after a gap: ours vs nchan — " + all.get("timestamp").asText() + "\n\n" + md);
        System.out.println("results: " + json + " and " + outBase + ".md");
        System.out.println("HTML report: " + html(json.toAbsolutePath().getParent()));
    }

    /** JMH's JSON (-rf json) to one row per benchmark: time per operation and allocation (from -prof gc). */
    static void jmh(Path jmhJson, String outBase) throws IOException {
        JsonNode raw = Json.mapper().readTree(jmhJson.toFile());
        ObjectNode all = Json.mapper().createObjectNode();
        all.put("scenario", "jmh");
        all.put("timestamp", Instant.now().toString());
        all.put("note", "JMH average time per operation, one fork; allocation from -prof gc");
        ArrayNode rows = all.putArray("rows");
        StringBuilder md = new StringBuilder("| benchmark | ns/op | ± | B/op | alloc MB/s |\n|---|---|---|---|---|\n");
        for (JsonNode b : raw) {
            ObjectNode r = rows.addObject();
            String name = b.path("benchmark").asText().replaceFirst(".*\\.", "");
            r.put("benchmark", name);
            r.put("nsPerOp", b.path("primaryMetric").path("score").asDouble());
            r.put("error", b.path("primaryMetric").path("scoreError").asDouble());
            r.put("bytesPerOp", b.path("secondaryMetrics").path("gc.alloc.rate.norm").path("score").asDouble(-1));
            r.put("allocMBPerSec", b.path("secondaryMetrics").path("gc.alloc.rate").path("score").asDouble(-1));
            md.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s |%n", name, Svg.num(r.get("nsPerOp").asDouble()),
                    Double.isNaN(r.get("error").asDouble()) ? "n/a" : Svg.num(r.get("error").asDouble()),
                    orNa(r.get("bytesPerOp").asDouble()), orNa(r.get("allocMBPerSec").asDouble())));
        }
        all.set("raw", raw);
        System.out.println();
        System.out.println(md);
        Path json = Path.of(outBase + ".json");
        Files.writeString(json, Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(all) + "\n");
        Files.writeString(Path.of(outBase + ".md"), "# JMH hot paths — " + all.get("timestamp").asText() + "\n\n" + md);
        System.out.println("results: " + json + " and " + outBase + ".md");
        System.out.println("HTML report: " + html(json.toAbsolutePath().getParent()));
    }

    static int order(String target) {
        return switch (target) {
            case "ours" -> 0;
            case "nchan" -> 1;
            case "pushpin" -> 2;
            default -> 3;
        };
    }

    static String fanoutTable(List<JsonNode> runs) {
        StringBuilder s = new StringBuilder();
        s.append("| connections | server | held | published/s | deliveries/s | delivered | p50 ms | p99 ms | CPU s / 100k deliveries | RSS / conn KiB | heap / conn KiB | evictions | load avg |\n");
        s.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (JsonNode r : runs) {
            s.append(String.format(Locale.ROOT, "| %,d | %s | %,d | %,.0f | %,.0f | %.1f %% | %s | %s | %s | %s | %s | %d | %s |%n",
                    r.path("connectionsRequested").asInt(), r.path("target").asText(), r.path("connectionsStreaming").asInt(),
                    r.path("achievedPublishRatePerSec").asDouble(),
                    r.path("deliveriesPerSec").asDouble(), 100 * r.path("deliveredRatio").asDouble(),
                    Svg.num(r.path("latencyMs").path("p50").asDouble()), Svg.num(r.path("latencyMs").path("p99").asDouble()),
                    orNa(r.path("serverCpuSecondsPer100kDeliveries").asDouble(-1)),
                    orNa(r.path("serverRssPerIdleConnectionBytes").asDouble(-1) / 1024),
                    orNa(r.path("heapPerIdleConnectionBytes").asDouble(-1) / 1024),
                    r.path("evictionsOrServerCloses").asLong(), r.path("loadAverage").asText("").split(" ")[0]));
        }
        Map<String, Integer> held = new LinkedHashMap<>();
        for (JsonNode r : runs) {
            held.merge(r.path("target").asText(), r.path("connectionsStreaming").asInt(), Math::max);
        }
        s.append("\nmax connections held: ");
        held.forEach((k, v) -> s.append(k).append(' ').append(String.format(Locale.ROOT, "%,d", v)).append("; "));
        s.append("\np99 ratio ours / best peer: ");
        for (int n : new TreeSet<>(runs.stream().map(r -> r.path("connectionsRequested").asInt()).toList())) {
            Optional<Double> ours = p99(runs, n, true);
            Optional<Double> best = p99(runs, n, false);
            if (ours.isPresent() && best.isPresent() && best.get() > 0) {
                s.append(String.format(Locale.ROOT, "%,d conns %.2f×; ", n, ours.get() / best.get()));
            }
        }
        return s.append('\n').toString();
    }

    private static Optional<Double> p99(List<JsonNode> runs, int n, boolean ours) {
        return runs.stream().filter(r -> r.path("connectionsRequested").asInt() == n)
                .filter(r -> ours == r.path("target").asText().equals("ours"))
                .filter(r -> r.path("deliveredRatio").asDouble() > 0.99) // a peer that lost deliveries is not "best"
                .map(r -> r.path("latencyMs").path("p99").asDouble()).min(Double::compare);
    }

    private static String orNa(double v) {
        return v < 0 ? "n/a" : Svg.num(v);
    }

    // ------------------------------------------------------------------------------------------------ HTML report

    static Path html(Path resultsDir) throws IOException {
        StringBuilder h = new StringBuilder("<!doctype html><html><head><meta charset='utf-8'><title>CSR benchmarks</title>"
                + "<style>body{font-family:sans-serif;max-width:1400px;margin:20px auto;padding:0 12px}table{border-collapse:collapse;font-size:13px}"
                + "td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#f3f3f3}.charts{display:flex;flex-wrap:wrap;gap:8px}"
                + "pre{background:#f7f7f7;padding:8px;font-size:12px;overflow:auto}</style></head><body>");
        h.append("<h1>CSR Stream Analytics — benchmarks</h1><p>Generated ").append(Instant.now())
                .append(" from the newest result of each scenario under <code>perf/results/</code>. Client, servers and services ")
                .append("share one machine: compare ratios within one run.</p>");
        Optional<Path> fan = newest(resultsDir, "fanout-");
        if (fan.isPresent()) {
            fanoutSection(h, fan.get());
        } else {
            h.append("<h2>Fan-out</h2><p>no run yet: <code>bin/csr bench fanout</code></p>");
        }
        for (String scenario : new String[]{"e2e", "replay", "jmh", "job-ingest"}) {
            Optional<Path> p = newest(resultsDir, scenario + "-");
            h.append("<h2>").append(scenario).append("</h2>");
            if (p.isEmpty()) {
                h.append("<p>no run yet: <code>bin/csr bench ").append(scenario.equals("job-ingest") ? "job" : scenario).append("</code></p>");
                continue;
            }
            JsonNode n = Json.mapper().readTree(p.get().toFile());
            genericSection(h, n);
            h.append("<details><summary>raw JSON (").append(Svg.esc(p.get().getFileName().toString())).append(")</summary><pre>")
                    .append(Svg.esc(Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(n))).append("</pre></details>");
        }
        h.append("</body></html>\n");
        Path out = resultsDir.resolve("report.html");
        Files.writeString(out, h);
        return out;
    }

    private static void fanoutSection(StringBuilder h, Path file) throws IOException {
        JsonNode all = Json.mapper().readTree(file.toFile());
        List<JsonNode> runs = new ArrayList<>();
        all.path("runs").forEach(runs::add);
        h.append("<h2>Fan-out: ours vs nchan vs Pushpin</h2><p>").append(Svg.esc(file.getFileName().toString())).append("</p>");
        h.append(markdownTableToHtml(fanoutTable(runs)));
        List<String> groups = new ArrayList<>();
        for (int n : new TreeSet<>(runs.stream().map(r -> r.path("connectionsRequested").asInt()).toList())) {
            groups.add(String.format(Locale.ROOT, "%,d conns", n));
        }
        List<String> targets = runs.stream().map(r -> r.path("target").asText()).distinct()
                .sorted(Comparator.comparingInt(BenchReport::order)).toList();
        h.append("<div class='charts'>");
        for (String[] metric : new String[][]{{"p50", "latency p50 (ms)"}, {"p99", "latency p99 (ms)"}}) {
            Map<String, double[]> series = new LinkedHashMap<>();
            for (String t : targets) {
                double[] v = new double[groups.size()];
                int i = 0;
                for (int n : new TreeSet<>(runs.stream().map(r -> r.path("connectionsRequested").asInt()).toList())) {
                    int fn = n;
                    v[i++] = runs.stream().filter(r -> r.path("target").asText().equals(t) && r.path("connectionsRequested").asInt() == fn)
                            .mapToDouble(r -> r.path("latencyMs").path(metric[0]).asDouble()).findFirst().orElse(0);
                }
                series.put(t, v);
            }
            h.append(Svg.bars(metric[1] + " — publish → client", "ms", groups, series));
        }
        h.append("</div><div class='charts'>");
        for (int n : new TreeSet<>(runs.stream().map(r -> r.path("connectionsRequested").asInt()).toList())) {
            Map<String, double[]> tput = new LinkedHashMap<>();
            Map<String, double[]> p99 = new LinkedHashMap<>();
            for (JsonNode r : runs) {
                if (r.path("connectionsRequested").asInt() != n) {
                    continue;
                }
                JsonNode tl = r.path("timeline");
                double[] d = new double[tl.size()];
                double[] q = new double[tl.size()];
                for (int i = 0; i < tl.size(); i++) {
                    d[i] = tl.get(i).path("deliveries").asDouble();
                    q[i] = tl.get(i).path("p99Ms").asDouble();
                }
                tput.put(r.path("target").asText(), d);
                p99.put(r.path("target").asText(), q);
            }
            h.append(Svg.lines(String.format(Locale.ROOT, "%,d conns: deliveries per second", n), "deliveries/s", tput));
            h.append(Svg.lines(String.format(Locale.ROOT, "%,d conns: p99 per second (ms)", n), "ms", p99));
        }
        h.append("</div>");
    }

    /** e2e / replay / ingest: their table rows are in "rows" (an array of flat objects) when the tool wrote them. */
    private static void genericSection(StringBuilder h, JsonNode n) {
        JsonNode rows = n.path("rows");
        if (!rows.isArray() || rows.isEmpty()) {
            return;
        }
        List<String> cols = new ArrayList<>();
        rows.get(0).fieldNames().forEachRemaining(cols::add);
        h.append("<table><tr>");
        cols.forEach(c -> h.append("<th>").append(Svg.esc(c)).append("</th>"));
        h.append("</tr>");
        for (JsonNode r : rows) {
            h.append("<tr>");
            cols.forEach(c -> h.append("<td>").append(Svg.esc(r.path(c).isNumber() ? Svg.num(r.path(c).asDouble()) : r.path(c).asText())).append("</td>"));
            h.append("</tr>");
        }
        h.append("</table>");
        JsonNode charts = n.path("charts");
        if (charts.isArray()) {
            h.append("<div class='charts'>");
            for (JsonNode c : charts) {
                Map<String, double[]> series = new LinkedHashMap<>();
                c.path("series").fields().forEachRemaining(e -> {
                    double[] v = new double[e.getValue().size()];
                    for (int i = 0; i < v.length; i++) {
                        v[i] = e.getValue().get(i).asDouble();
                    }
                    series.put(e.getKey(), v);
                });
                List<String> groups = new ArrayList<>();
                c.path("groups").forEach(g -> groups.add(g.asText()));
                h.append(groups.isEmpty() ? Svg.lines(c.path("title").asText(), c.path("unit").asText(), series)
                        : Svg.bars(c.path("title").asText(), c.path("unit").asText(), groups, series));
            }
            h.append("</div>");
        }
    }

    static String markdownTableToHtml(String md) {
        StringBuilder h = new StringBuilder("<table>");
        StringBuilder after = new StringBuilder();
        boolean header = true;
        for (String line : md.split("\n")) {
            if (!line.startsWith("|")) {
                if (!line.isBlank()) {
                    after.append("<p>").append(Svg.esc(line)).append("</p>");
                }
                continue;
            }
            if (line.startsWith("|---")) {
                continue;
            }
            String[] cells = line.substring(1, line.length() - 1).split("\\|");
            h.append("<tr>");
            for (String c : cells) {
                h.append(header ? "<th>" : "<td>").append(Svg.esc(c.trim())).append(header ? "</th>" : "</td>");
            }
            h.append("</tr>");
            header = false;
        }
        return h.append("</table>").append(after).toString();
    }

    static Optional<Path> newest(Path dir, String prefix) throws IOException {
        if (!Files.isDirectory(dir)) {
            return Optional.empty();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith(prefix) && p.getFileName().toString().endsWith(".json"))
                    .max(Comparator.comparingLong(p -> p.toFile().lastModified()));
        }
    }
}
