package io.csr.perf.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.csr.common.cli.Cli;
import io.csr.common.cli.CommandGroup;
import io.csr.common.json.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

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
 * newest run of every scenario (fan-out, e2e, replay, ingest) with ours next to each peer, and links the result file
 * it shows (beside it in the same folder).
 * <pre>
 * BenchReport fanout RUN_DIR OUT_BASE [--expected 1000,5000 ours,nchan]  # RUN_DIR holds fanout-&lt;N&gt;c-&lt;target&gt;.json
 * BenchReport replay RUN_DIR OUT_BASE [--expected ours,nchan]
 * BenchReport html RESULTS_DIR          # (re)writes RESULTS_DIR/report.html
 * </pre>
 * Every result says whether it is {@code complete} (everything asked for was measured: no lost delivery, connection or
 * event, no timeout) and what was lost; a scenario that was expected but left no result (the client failed or was
 * killed by its timeout) gets a row marked incomplete, and incomplete rows are marked in every table and chart. The
 * HTML report picks the newest result of each scenario by the time recorded in it, not by file date (a fresh clone
 * gives every file the checkout's time), and says which run each section shows.
 */
public final class BenchReport {
    private BenchReport() {
    }

    public static void main(String[] args) {
        System.exit(Cli.run(new Report(), args));
    }

    /** The report's command line, on the CLI contract (io.csr.common.cli.Cli); the bench drivers run it. */
    @Command(name = "bench-report", description = "Tables, JSON, Markdown and report.html from benchmark results.")
    static final class Report extends CommandGroup {
        @Command(name = "fanout", mixinStandardHelpOptions = true, description = "One fan-out run: RUN_DIR holds fanout-<N>c-<target>.json.")
        int fanout(@Parameters(index = "0", paramLabel = "RUN_DIR") Path runDir, @Parameters(index = "1", paramLabel = "OUT_BASE") String outBase,
                   @Option(names = "--expected", arity = "2", paramLabel = "N,N T,T", description = "the connection counts and targets that were run")
                   List<String> expected) throws IOException {
            BenchReport.fanout(runDir, outBase, expected == null ? List.of() : csv(expected.get(0)).stream().map(Integer::parseInt).toList(),
                    expected == null ? List.of() : csv(expected.get(1)));
            return 0;
        }

        @Command(name = "replay", mixinStandardHelpOptions = true, description = "One replay run: RUN_DIR holds replay-<target>.json.")
        int replay(@Parameters(index = "0", paramLabel = "RUN_DIR") Path runDir, @Parameters(index = "1", paramLabel = "OUT_BASE") String outBase,
                   @Option(names = "--expected", paramLabel = "T,T", description = "the targets that were run") String expected) throws IOException {
            BenchReport.replay(runDir, outBase, expected == null ? List.of() : csv(expected));
            return 0;
        }

        @Command(name = "jmh", mixinStandardHelpOptions = true, description = "JMH's JSON as a table.")
        int jmh(@Parameters(index = "0", paramLabel = "JMH_JSON") Path json, @Parameters(index = "1", paramLabel = "OUT_BASE") String outBase)
                throws IOException {
            BenchReport.jmh(json, outBase);
            return 0;
        }

        @Command(name = "html", mixinStandardHelpOptions = true, description = "(Re)writes RESULTS_DIR/report.html.")
        int html(@Parameters(index = "0", paramLabel = "RESULTS_DIR") Path results) throws IOException {
            System.out.println("HTML report: " + BenchReport.html(results));
            return 0;
        }
    }

    /** The row of an expected result that is not there: incomplete, and why. */
    private static ObjectNode missingResult(String seeWhere) {
        ObjectNode missing = Json.mapper().createObjectNode();
        missing.put("complete", false);
        missing.putObject("lost").put("result", "none: the client failed or was stopped by its timeout (" + seeWhere + ")");
        return missing;
    }

    /** Every {@code *.json} result a client wrote into {@code runDir}, by file name. */
    private static List<JsonNode> readResults(Path runDir) throws IOException {
        List<JsonNode> results = new ArrayList<>();
        try (Stream<Path> files = Files.list(runDir)) {
            for (Path p : files.filter(f -> f.getFileName().toString().endsWith(".json")).sorted().toList()) {
                results.add(Json.mapper().readTree(p.toFile()));
            }
        }
        return results;
    }

    private static List<String> csv(String v) {
        return java.util.Arrays.stream(v.split(",")).map(String::trim).filter(x -> !x.isEmpty()).toList();
    }

    static void fanout(Path runDir, String outBase) throws IOException {
        fanout(runDir, outBase, List.of(), List.of());
    }

    /** @param expectedConns, expectedTargets the grid that was run: a cell without a result file gets an incomplete row */
    static void fanout(Path runDir, String outBase, List<Integer> expectedConns, List<String> expectedTargets) throws IOException {
        List<JsonNode> scenarios = readResults(runDir);
        for (int n : expectedConns) {
            for (String t : expectedTargets) {
                if (scenarios.stream().noneMatch(r -> r.path("connectionsRequested").asInt() == n && r.path("target").asText().equals(t))) {
                    ObjectNode missing = missingResult("see its log");
                    missing.put("target", t);
                    missing.put("connectionsRequested", n);
                    missing.put("timestamp", Instant.now().toString());
                    scenarios.add(missing);
                }
            }
        }
        if (scenarios.isEmpty()) {
            throw new IllegalStateException("no scenario results under " + runDir + "; did every client run fail? (output above)");
        }
        scenarios.sort(Comparator.comparingInt((JsonNode n) -> n.path("connectionsRequested").asInt())
                .thenComparingInt(n -> order(n.path("target").asText())));
        ObjectNode all = combined("fanout", "client, servers under test, Redis and the other services share the same machine; compare ratios within one run",
                "runs", scenarios);
        String table = fanoutTable(scenarios);
        write(outBase, all, "SSE fan-out: ours vs nchan vs Pushpin", "Same client (perf/sse SseBench), same payload, same connection counts and "
                + "publish rate; load average at each run in the JSON.\n\n", table);
    }

    /** Replay: one row per server (files written by ReplayBench), a bar chart of the catch-up time. */
    static void replay(Path runDir, String outBase) throws IOException {
        replay(runDir, outBase, List.of());
    }

    static void replay(Path runDir, String outBase, List<String> expectedServers) throws IOException {
        List<JsonNode> rows = readResults(runDir);
        for (String t : expectedServers) {
            if (rows.stream().noneMatch(r -> r.path("server").asText().equals(t))) {
                rows.add(missingResult("output above").put("server", t));
            }
        }
        if (rows.isEmpty()) {
            throw new IllegalStateException("no replay results under " + runDir + "; did every client run fail? (output above)");
        }
        rows.sort(Comparator.comparingInt(n -> order(n.path("server").asText())));
        ObjectNode all = combined("replay", "a client misses N events, reconnects with Last-Event-ID; time until the last one arrived (same machine for all)",
                "rows", rows);
        ObjectNode chart = all.putArray("charts").addObject();
        chart.put("title", "catch-up after " + rows.stream().mapToInt(r -> r.path("missed").asInt()).max().orElse(0)
                + " missed events (median, ms)");
        chart.put("unit", "ms");
        chart.putArray("groups").add("catch-up");
        ObjectNode series = chart.putObject("series");
        rows.forEach(r -> {
            ArrayNode v = series.putArray(seriesName(r.path("server").asText(), complete(r)));
            if (r.path("catchUpMedianMs").isNumber()) {
                v.add(r.path("catchUpMedianMs").asDouble());
            } else {
                v.addNull(); // no catch-up time: not every missed event arrived
            }
        });
        StringBuilder md = new StringBuilder("| server | complete | missed | first event ms | caught up ms (median) | max | events/s | gaps | repeats | resets |\n|---|---|---|---|---|---|---|---|---|---|\n");
        for (JsonNode r : rows) {
            md.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s | %d | %d | %d |%n", r.path("server").asText(),
                    completeCell(r), orNa(r.path("missed")), orNa(r.path("firstEventMedianMs")), orNa(r.path("catchUpMedianMs")),
                    orNa(r.path("catchUpMaxMs")), orNa(r.path("replayEventsPerSec")), r.path("gaps").asLong(),
                    r.path("repeatsSeen").asLong(), r.path("resets").asLong()));
        }
        write(outBase, all, "Replay after a gap: ours vs nchan", "", md.toString());
    }

    /** JMH's JSON (-rf json) to one row per benchmark: time per operation and allocation (from -prof gc). */
    static void jmh(Path jmhJson, String outBase) throws IOException {
        JsonNode raw = Json.mapper().readTree(jmhJson.toFile());
        ObjectNode all = started("jmh");
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
        write(outBase, all, "JMH hot paths", "", md.toString());
    }

    /** The start of a combined result: its scenario and when it was written. */
    private static ObjectNode started(String scenario) {
        ObjectNode all = Json.mapper().createObjectNode();
        all.put("scenario", scenario);
        all.put("timestamp", Instant.now().toString());
        return all;
    }

    /** A combined result of one run's per-client results ({@code arrayName}): complete when every one of them is. */
    private static ObjectNode combined(String scenario, String note, String arrayName, List<JsonNode> results) {
        ObjectNode all = started(scenario);
        all.put("complete", results.stream().allMatch(BenchReport::complete));
        all.put("note", note);
        results.forEach(all.putArray(arrayName)::add);
        return all;
    }

    /** The table on stdout; {@code OUT_BASE.json} and {@code .md} (titled with the run's time); then report.html beside them. */
    private static void write(String outBase, ObjectNode all, String title, String intro, String table) throws IOException {
        System.out.println();
        System.out.println(table);
        Path json = Path.of(outBase + ".json");
        Files.createDirectories(json.toAbsolutePath().getParent());
        Files.writeString(json, Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(all) + "\n");
        Files.writeString(Path.of(outBase + ".md"), "# " + title + " — " + all.get("timestamp").asText() + "\n\n" + intro + table);
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
        s.append("| connections | server | complete | held | published/s | deliveries/s | delivered | p50 ms | p99 ms | CPU s / 100k deliveries | RSS / conn KiB | heap / conn KiB | evictions | load avg |\n");
        s.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (JsonNode r : runs) {
            s.append(String.format(Locale.ROOT, "| %,d | %s | %s | %,d | %,.0f | %,.0f | %.1f %% | %s | %s | %s | %s | %s | %d | %s |%n",
                    r.path("connectionsRequested").asInt(), r.path("target").asText(), completeCell(r), r.path("connectionsStreaming").asInt(),
                    r.path("achievedPublishRatePerSec").asDouble(),
                    r.path("deliveriesPerSec").asDouble(), 100 * r.path("deliveredRatio").asDouble(),
                    orNa(r.path("latencyMs").path("p50")), orNa(r.path("latencyMs").path("p99")),
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
        List<String> retried = runs.stream().filter(r -> r.path("subscribesRetried").asLong() > 0)
                .map(r -> String.format(Locale.ROOT, "%s at %,d conns %,d", r.path("target").asText(), r.path("connectionsRequested").asInt(),
                        r.path("subscribesRetried").asLong())).toList();
        if (!retried.isEmpty()) { // a refused subscribe is opened again, as a reconnecting client does (SseBench --subscribe-retries)
            s.append("\nsubscribes answered other than 200 and opened again: ").append(String.join("; ", retried)).append(';');
        }
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
                .filter(r -> !r.path("complete").isBoolean() || r.path("complete").asBoolean()) // nor an incomplete run
                .filter(r -> r.path("latencyMs").path("p99").isNumber())
                .map(r -> r.path("latencyMs").path("p99").asDouble()).min(Double::compare);
    }

    private static String orNa(double v) {
        return v < 0 ? "n/a" : Svg.num(v);
    }

    /** A figure, or n/a when the result has none (null: nothing measured; absent). */
    private static String orNa(JsonNode v) {
        return v.isNumber() ? Svg.num(v.asDouble()) : "n/a";
    }

    /** False only when the result says so; results from before the accounting carry no flag. */
    static boolean complete(JsonNode r) {
        return !r.path("complete").isBoolean() || r.path("complete").asBoolean();
    }

    /** The "complete" cell: yes, NO with what was lost, or "not recorded" for results older than the flag. */
    static String completeCell(JsonNode r) {
        if (!r.path("complete").isBoolean()) {
            return "not recorded";
        }
        if (r.path("complete").asBoolean()) {
            return "yes";
        }
        List<String> lost = new ArrayList<>();
        r.path("lost").fields().forEachRemaining(e -> {
            if (!e.getValue().isNumber() || e.getValue().asDouble() != 0) {
                lost.add(e.getKey() + " " + e.getValue().asText());
            }
        });
        return "NO (" + String.join(", ", lost) + ")";
    }

    /** A chart series name; an incomplete run says so in the legend and tooltips. */
    static String seriesName(String target, boolean complete) {
        return complete ? target : target + " (INCOMPLETE)";
    }

    /** A number for a chart, NaN (drawn as n/a, no bar or point) when the result has none. */
    private static double value(JsonNode v) {
        return v.isNumber() ? v.asDouble() : Double.NaN;
    }

    // ------------------------------------------------------------------------------------------------ HTML report

    static Path html(Path resultsDir) throws IOException {
        StringBuilder h = new StringBuilder("<!doctype html><html><head><meta charset='utf-8'><title>CSR benchmarks</title>"
                + "<style>body{font-family:sans-serif;max-width:1400px;margin:20px auto;padding:0 12px}table{border-collapse:collapse;font-size:13px}"
                + "td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#f3f3f3}.charts{display:flex;flex-wrap:wrap;gap:8px}"
                + "</style></head><body>");
        h.append("<h1>CSR Stream Analytics — benchmarks</h1><p>Generated ").append(Instant.now())
                .append(" from the newest result of each scenario under <code>perf/results/</code>, by the time recorded in it. ")
                .append("Client, servers and services share one machine: compare ratios within one run. A value axis turns ")
                .append("logarithmic when the values span more than ").append(Svg.num(Svg.LOG_SPREAD)).append("×. Rows and ")
                .append("series of incomplete runs (lost deliveries, connections or events, timeouts) are marked NO / INCOMPLETE.</p>");
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
            h.append(runCaption(p.get(), n));
            genericSection(h, n);
            // the result file sits beside the report: a link, not a second copy of it (JMH's raw output alone is ~100 lines a benchmark)
            String file = Svg.esc(p.get().getFileName().toString());
            h.append("<p>Raw JSON: <a href='").append(file).append("'>").append(file).append("</a></p>");
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
        h.append("<h2>Fan-out: ours vs nchan vs Pushpin</h2>").append(runCaption(file, all));
        h.append(markdownTableToHtml(fanoutTable(runs)));
        List<String> groups = new ArrayList<>();
        for (int n : new TreeSet<>(runs.stream().map(r -> r.path("connectionsRequested").asInt()).toList())) {
            groups.add(String.format(Locale.ROOT, "%,d conns", n));
        }
        List<String> targets = runs.stream().map(r -> r.path("target").asText()).distinct()
                .sorted(Comparator.comparingInt(BenchReport::order)).toList();
        Map<String, Boolean> targetComplete = new LinkedHashMap<>();
        runs.forEach(r -> targetComplete.merge(r.path("target").asText(), complete(r), Boolean::logicalAnd));
        h.append("<div class='charts'>");
        for (String[] metric : new String[][]{{"p50", "latency p50 (ms)"}, {"p99", "latency p99 (ms)"}}) {
            Map<String, double[]> series = new LinkedHashMap<>();
            for (String t : targets) {
                double[] v = new double[groups.size()];
                int i = 0;
                for (int n : new TreeSet<>(runs.stream().map(r -> r.path("connectionsRequested").asInt()).toList())) {
                    int fn = n;
                    v[i++] = runs.stream().filter(r -> r.path("target").asText().equals(t) && r.path("connectionsRequested").asInt() == fn)
                            .mapToDouble(r -> value(r.path("latencyMs").path(metric[0]))).findFirst().orElse(Double.NaN);
                }
                series.put(seriesName(t, targetComplete.get(t)), v);
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
                    q[i] = value(tl.get(i).path("p99Ms"));
                }
                tput.put(seriesName(r.path("target").asText(), complete(r)), d);
                p99.put(seriesName(r.path("target").asText(), complete(r)), q);
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
        cols.add("complete");
        rows.get(0).fieldNames().forEachRemaining(c -> {
            if (!c.equals("complete") && !c.equals("lost")) {
                cols.add(c);
            }
        });
        h.append("<table><tr>");
        cols.forEach(c -> h.append("<th>").append(Svg.esc(c)).append("</th>"));
        h.append("</tr>");
        for (JsonNode r : rows) {
            h.append("<tr>");
            boolean fileSaysIncomplete = n.path("complete").isBoolean() && !n.path("complete").asBoolean();
            cols.forEach(c -> h.append("<td>").append(Svg.esc(c.equals("complete")
                    ? (fileSaysIncomplete && !r.path("complete").isBoolean() ? completeCell(n) : completeCell(r))
                    : r.path(c).isNumber() ? Svg.num(r.path(c).asDouble()) : r.path(c).isNull() ? "n/a" : r.path(c).asText())).append("</td>"));
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
                        v[i] = value(e.getValue().get(i));
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

    /**
     * The result under {@code dir} named {@code prefix*.json} with the newest time recorded in it ({@link #recordedAt});
     * files without one are not candidates. File dates are not used: a checkout gives every file the same time.
     */
    static Optional<Path> newest(Path dir, String prefix) throws IOException {
        if (!Files.isDirectory(dir)) {
            return Optional.empty();
        }
        List<Path> candidates;
        try (Stream<Path> s = Files.list(dir)) {
            candidates = s.filter(p -> p.getFileName().toString().startsWith(prefix) && p.getFileName().toString().endsWith(".json")).toList();
        }
        Path best = null;
        Instant bestAt = null;
        for (Path p : candidates) {
            Optional<Instant> at = recordedAt(Json.mapper().readTree(p.toFile()));
            if (at.isPresent() && (bestAt == null || at.get().isAfter(bestAt))) {
                best = p;
                bestAt = at.get();
            }
        }
        return Optional.ofNullable(best);
    }

    /** When the run was recorded: the result's own {@code timestamp} (fan-out, e2e, replay, jmh) or {@code date} (ingest). */
    static Optional<Instant> recordedAt(JsonNode result) {
        for (String field : new String[]{"timestamp", "date"}) {
            if (result.path(field).isTextual()) {
                try {
                    return Optional.of(Instant.parse(result.path(field).asText()));
                } catch (java.time.format.DateTimeParseException e) {
                    // not a time: try the next field
                }
            }
        }
        return Optional.empty();
    }

    /** Which run a section shows: its recorded time, its file, and whether it is complete. */
    private static String runCaption(Path file, JsonNode result) {
        String completeness = !result.path("complete").isBoolean() ? "completeness not recorded (a result from before the accounting)"
                : result.path("complete").asBoolean() ? "complete"
                : "INCOMPLETE: " + (result.has("lost") ? completeCell(result) : "the rows marked NO below lost part of what was asked for");
        return "<p>Run recorded at <b>" + Svg.esc(recordedAt(result).map(Instant::toString).orElse("?")) + "</b> (file <code>"
                + Svg.esc(file.getFileName().toString()) + "</code>); " + Svg.esc(completeness) + ".</p>";
    }
}
