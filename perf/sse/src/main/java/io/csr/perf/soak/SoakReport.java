package io.csr.perf.soak;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.csr.common.json.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The soak's result: JSON (everything) and a one-page HTML timeline (faults, throughput, lag, recoveries, verdict). */
final class SoakReport {
    private SoakReport() {
    }

    static void write(Soak.Options o, String run, OwnServices services, Traffic traffic, List<Soak.Happened> happened,
                      List<Map<String, Object>> timeline, Map<String, Object> verdict, List<SseClient> clients,
                      Map<String, Integer> otherStarts) throws IOException {
        ObjectNode result = Json.mapper().createObjectNode();
        result.put("scenario", "soak");
        result.put("timestamp", Instant.now().toString());
        result.put("topology", o.ha() ? "ha" : "single");
        result.put("seed", o.seed());
        result.put("minutes", o.minutes());
        result.put("faultsPlanned", o.faults());
        result.put("rate", o.rate());
        result.put("companies", o.companies());
        result.put("rerun", "bin/csr soak --minutes " + fmt(o.minutes()) + " --faults " + o.faults() + " --seed " + o.seed()
                + " --rate " + o.rate() + " --companies " + o.companies() + (o.ha() ? " --topology ha" : ""));
        result.put("loadAverageAtEnd", loadAverage());
        result.put("note", "all processes on one 2-core machine; figures depend on what else ran beside (see loadAverageAtEnd)");
        result.put("pass", Boolean.TRUE.equals(verdict.get("pass")));
        Map<String, Integer> starts = new LinkedHashMap<>();
        for (ServiceProcess p : services.all()) {
            starts.put(p.name(), p.starts());
        }
        starts.putAll(otherStarts);
        result.set("processStarts", Json.mapper().valueToTree(starts));
        result.set("recoveryByFault", Json.mapper().valueToTree(summary(happened)));
        result.set("faults", Json.mapper().valueToTree(happened));
        result.set("verdict", Json.mapper().valueToTree(verdict));
        result.set("timeline", Json.mapper().valueToTree(timeline));
        Files.createDirectories(o.resultsDir());
        String stamp = Instant.now().toString().replace(':', '-').replaceAll("\\.\\d+Z$", "Z");
        Path json = o.resultsDir().resolve("soak-" + stamp + ".json");
        Files.writeString(json, Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(result) + "\n");
        Path html = o.resultsDir().resolve("soak-" + stamp + ".html");
        Files.writeString(html, html(result, happened, timeline, verdict));
        Soak.say("results: " + json + " and " + html);
    }

    /** Per fault kind: count, and p50 / max of each recovery time (null where any recovery did not happen in time). */
    static Map<String, Map<String, Object>> summary(List<Soak.Happened> happened) {
        Map<String, List<Soak.Happened>> byKind = new LinkedHashMap<>();
        for (Fault f : Fault.values()) {
            byKind.put(f.name(), new ArrayList<>());
        }
        happened.forEach(h -> byKind.get(h.fault()).add(h));
        Map<String, Map<String, Object>> out = new LinkedHashMap<>();
        byKind.forEach((kind, list) -> {
            if (list.isEmpty()) {
                return;
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("count", list.size());
            m.put("eventsFlowMs", stats(list.stream().map(Soak.Happened::eventsFlowMs).toList()));
            m.put("dashboardCurrentMs", stats(list.stream().map(Soak.Happened::dashboardCurrentMs).toList()));
            m.put("clickhouseCurrentMs", stats(list.stream().map(Soak.Happened::clickhouseCurrentMs).toList()));
            m.put("resetsSeen", list.stream().mapToInt(Soak.Happened::resetsSeen).sum());
            m.put("staleFramesDropped", list.stream().mapToLong(Soak.Happened::staleFrames).sum());
            out.put(kind, m);
        });
        return out;
    }

    static Map<String, Object> stats(List<Long> values) {
        Map<String, Object> m = new LinkedHashMap<>();
        List<Long> got = values.stream().filter(v -> v != null).sorted().toList();
        m.put("p50", got.isEmpty() ? null : got.get((got.size() - 1) / 2));
        m.put("max", got.isEmpty() ? null : got.get(got.size() - 1));
        m.put("notRecovered", values.size() - got.size());
        return m;
    }

    private static String html(ObjectNode r, List<Soak.Happened> happened, List<Map<String, Object>> timeline, Map<String, Object> verdict) {
        StringBuilder s = new StringBuilder();
        s.append("<!doctype html><html><head><meta charset=\"utf-8\"><title>csr soak ").append(esc(r.get("timestamp").asText()))
                .append("</title><style>body{font:14px sans-serif;margin:24px;max-width:1000px}table{border-collapse:collapse}"
                        + "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f4f4f4}td:first-child{text-align:left}"
                        + ".ok{color:#2a2}.bad{color:#c22}</style></head><body>");
        boolean pass = r.get("pass").asBoolean();
        s.append("<h1>csr soak: <span class=\"").append(pass ? "ok\">PASS" : "bad\">FAIL").append("</span></h1>");
        s.append("<p>").append(esc(r.get("timestamp").asText())).append(" — seed ").append(r.get("seed")).append(", ")
                .append(r.get("minutes")).append(" min, ").append(happened.size()).append(" faults, ").append(r.get("rate"))
                .append(" events/s over ").append(r.get("companies")).append(" companies. Re-run: <code>").append(esc(r.get("rerun").asText()))
                .append("</code>. ").append(esc(r.get("note").asText())).append(" (load ").append(esc(r.get("loadAverageAtEnd").asText())).append(").</p>");
        s.append(chart(timeline, happened));
        s.append("<h2>Recovery per fault kind (ms after the fault was injected)</h2><table><tr><th>fault</th><th>n</th>"
                + "<th>events flow p50</th><th>max</th><th>dashboard current p50</th><th>max</th><th>ClickHouse current p50</th><th>max</th>"
                + "<th>not recovered</th><th>resets</th><th>stale frames dropped</th></tr>");
        summary(happened).forEach((kind, m) -> {
            s.append("<tr><td>").append(kind).append("</td><td>").append(m.get("count")).append("</td>");
            int notRecovered = 0;
            for (String k : List.of("eventsFlowMs", "dashboardCurrentMs", "clickhouseCurrentMs")) {
                @SuppressWarnings("unchecked") Map<String, Object> st = (Map<String, Object>) m.get(k);
                s.append("<td>").append(st.get("p50") == null ? "n/a" : st.get("p50")).append("</td><td>")
                        .append(st.get("max") == null ? "n/a" : st.get("max")).append("</td>");
                notRecovered += (Integer) st.get("notRecovered");
            }
            s.append("<td>").append(notRecovered).append("</td><td>").append(m.get("resetsSeen")).append("</td><td>")
                    .append(m.get("staleFramesDropped")).append("</td></tr>");
        });
        s.append("</table><h2>Verdict</h2><ul>");
        s.append(li(true, "messages published: " + verdict.get("publishedMessages") + " " + verdict.get("messagesByKind")));
        s.append(li(Long.valueOf(String.valueOf(verdict.get("eventsFinal"))).equals(Long.valueOf(String.valueOf(verdict.get("distinctValidEvents")))),
                "events FINAL " + verdict.get("eventsFinal") + " of " + verdict.get("distinctValidEvents") + " distinct valid; raw copies "
                        + verdict.get("rawEventCopies") + " (collapsed by FINAL), dead-letter raw copies " + verdict.get("rawDeadLetterCopies")));
        s.append(li(((Number) verdict.get("windowMismatchCount")).intValue() == 0, verdict.get("windowsChecked") + " windows checked against the ledger, "
                + verdict.get("windowMismatchCount") + " differ"));
        s.append(li(true, "dead letters " + verdict.get("deadLetters") + " for " + verdict.get("malformedMessages") + " malformed messages"));
        if (verdict.get("cohortMismatches") instanceof List<?> cohortMismatches) {
            s.append(li(cohortMismatches.isEmpty(), verdict.get("cohortFiguresCompared") + " cohort figures (cohort × metric, " + verdict.get("cohortRange")
                    + ") against the ledger, " + cohortMismatches.size() + " differ; calls during the run by status " + verdict.get("cohortCalls")));
        }
        @SuppressWarnings("unchecked") List<String> failures = (List<String>) verdict.get("failures");
        for (String f : failures) {
            s.append(li(false, f));
        }
        s.append("</ul><h2>Dashboards (SSE clients)</h2><table><tr><th>client</th><th>connections</th><th>resets</th><th>frames</th><th>stale dropped</th><th>same version, other values</th>"
                + "<th>unannounced gaps</th><th>windows compared</th><th>final view differs</th><th>stale after reset</th></tr>");
        @SuppressWarnings("unchecked") List<Map<String, Object>> cs = (List<Map<String, Object>>) verdict.get("clients");
        if (cs != null) {
            for (Map<String, Object> c : cs) {
                s.append("<tr><td>").append(esc(String.valueOf(c.get("client")))).append("</td>");
                for (String k : List.of("connections", "resets", "frames", "staleFramesDropped", "sameVersionOtherValues", "unannouncedGaps", "windowsCompared", "finalViewDiffers", "staleAfterReset")) {
                    s.append("<td>").append(c.get(k)).append("</td>");
                }
                s.append("</tr>");
            }
        }
        s.append("</table><h2>Faults</h2><table><tr><th>#</th><th>fault</th><th>at s</th><th>restored ms</th><th>flow ms</th>"
                + "<th>dashboard ms</th><th>ClickHouse ms</th><th>resets</th><th>probe frames during</th><th>probe rows during</th><th>detail</th></tr>");
        for (Soak.Happened h : happened) {
            s.append(String.format(Locale.ROOT, "<tr><td>%d</td><td>%s</td><td>%.1f</td><td>%.0f</td><td>%s</td><td>%s</td><td>%s</td><td>%d</td><td>%d</td><td>%s</td>"
                            + "<td style=\"text-align:left\">%s</td></tr>",
                    h.index(), h.fault(), h.atSeconds(), h.restoredAfterMs(), n(h.eventsFlowMs()), n(h.dashboardCurrentMs()),
                    n(h.clickhouseCurrentMs()), h.resetsSeen(), h.probeFramesDuringFault(), n(h.probeRowsDuringFault()), h.detail() == null ? "" : esc(h.detail())));
        }
        s.append("</table></body></html>\n");
        return s.toString();
    }

    /** Published and committed per second, and the lag between them, with the faults as bands. Inline SVG, no script. */
    private static String chart(List<Map<String, Object>> timeline, List<Soak.Happened> happened) {
        int w = 960;
        int h = 260;
        int left = 50;
        int bottom = 30;
        if (timeline.size() < 2) {
            return "<p>(no timeline)</p>";
        }
        double tMax = ((Number) timeline.get(timeline.size() - 1).get("t")).doubleValue();
        List<double[]> rate = new ArrayList<>();
        List<double[]> committed = new ArrayList<>();
        List<double[]> lag = new ArrayList<>();
        double yMax = 1;
        Long lastRows = null;
        for (int i = 1; i < timeline.size(); i++) {
            Map<String, Object> a = timeline.get(i - 1);
            Map<String, Object> b = timeline.get(i);
            double t = ((Number) b.get("t")).doubleValue();
            double dt = Math.max(0.001, t - ((Number) a.get("t")).doubleValue());
            double pub = (((Number) b.get("published")).longValue() - ((Number) a.get("published")).longValue()) / dt;
            rate.add(new double[]{t, pub});
            Long rows = b.get("clickhouseRows") == null ? null : ((Number) b.get("clickhouseRows")).longValue();
            if (rows != null && lastRows != null) {
                committed.add(new double[]{t, Math.max(0, rows - lastRows) / dt});
            }
            if (rows != null) {
                lag.add(new double[]{t, Math.max(0, ((Number) b.get("validPublished")).longValue() - rows)});
                lastRows = rows;
            }
        }
        for (List<double[]> l : List.of(rate, committed)) {
            for (double[] p : l) {
                yMax = Math.max(yMax, p[1]);
            }
        }
        double lagMax = 1;
        for (double[] p : lag) {
            lagMax = Math.max(lagMax, p[1]);
        }
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "<h2>Timeline</h2><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\">", w, h * 2 + 20));
        for (int panel = 0; panel < 2; panel++) {
            int y0 = panel * (h + 20);
            double max = panel == 0 ? yMax : lagMax;
            for (Soak.Happened f : happened) {
                double x = left + (w - left - 10) * f.atSeconds() / tMax;
                double x2 = left + (w - left - 10) * (f.atSeconds() + (f.clickhouseCurrentMs() == null ? 120_000 : f.clickhouseCurrentMs()) / 1000.0) / tMax;
                s.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#fbb\" opacity=\"0.4\"><title>%s</title></rect>",
                        x, y0, Math.max(1, x2 - x), h - bottom, f.index() + " " + f.fault()));
                if (panel == 0) {
                    s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" font-size=\"9\" transform=\"rotate(90 %.1f %d)\">%s</text>",
                            x + 2, y0 + 4, x + 2, y0 + 4, esc(f.fault())));
                }
            }
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>", left, y0 + h - bottom, w - 10, y0 + h - bottom));
            s.append(String.format(Locale.ROOT, "<text x=\"2\" y=\"%d\" font-size=\"10\">%.0f</text>", y0 + 12, max));
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"11\">%s</text>", left + 4, y0 + 12,
                    panel == 0 ? "messages/s published (blue), events rows/s committed to ClickHouse (green)" : "lag: valid events published (duplicates and malformed left out) − events rows in ClickHouse (red)"));
            List<List<double[]>> series = panel == 0 ? List.of(rate, committed) : List.of(lag);
            String[] colors = panel == 0 ? new String[]{"#1f77b4", "#2ca02c"} : new String[]{"#d62728"};
            for (int k = 0; k < series.size(); k++) {
                StringBuilder pts = new StringBuilder();
                for (double[] p : series.get(k)) {
                    pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", left + (w - left - 10) * p[0] / tMax,
                            y0 + (h - bottom) - (h - bottom - 16) * p[1] / max));
                }
                s.append("<polyline fill=\"none\" stroke=\"").append(colors[k]).append("\" stroke-width=\"1.2\" points=\"").append(pts).append("\"/>");
            }
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"10\">0 s</text><text x=\"%d\" y=\"%d\" font-size=\"10\">%.0f s</text>",
                    left, y0 + h - bottom + 14, w - 50, y0 + h - bottom + 14, tMax));
        }
        s.append("</svg>");
        return s.toString();
    }

    private static String li(boolean ok, String text) {
        return "<li class=\"" + (ok ? "ok" : "bad") + "\">" + esc(text) + "</li>";
    }

    private static String n(Long v) {
        return v == null ? "n/a" : v.toString();
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException e) {
            return "n/a";
        }
    }
}
