package io.csr.ops.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;
import io.csr.common.lb.LoadBalancedGateways;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code bin/csr bench fanout --gateways 1,3}: ours through HAProxy in front of N gateways of its own, the same client
 * and load for every N. What each run is given ({@link #clientArgs}) and the one summary of all runs
 * ({@link #summary}): per gateways × connections the connections held, p50/p99, Redis entries read per published
 * entry (the gateways' own counter: ≈ 1 when the balancer's affinity by company sends each company to one gateway),
 * RSS per idle connection of the gateways together and of HAProxy, CPU per 100k deliveries; and for every connection
 * count the ratios of the most gateways to the fewest.
 */
final class BalancedFanout {
    private BalancedFanout() {
    }

    /**
     * The companies of measured run {@code run} (1, 2, … in the order of --connections) of {@code connections}: a prefix
     * of its own, so each run subscribes to streams no earlier run of the same gateways used. SseBench deletes its
     * companies' streams before it connects; a gateway still tails a company while it holds subscribers there, and the
     * previous run's clients are closed but still held: a gateway notices a closed stream at its next write only (an
     * event or the heartbeat, STREAM_HEARTBEAT_SECONDS), and the next run's first clients join that tail meanwhile. The
     * entry under the tail's cursor is then gone, which the gateway rightly reports as lost history: every stream of the
     * run got a reset (resets=8000 of 8000 at --connections 3000,8000, the second run only). Used by both fan-out drivers.
     */
    static String companyPrefix(int run, int connections) {
        return "fan" + run + "_" + connections + "c_";
    }

    /** Prometheus gauge of each gateway: its open SSE streams. */
    static final String OPEN_STREAMS = "csr_stream_connections";
    private static final java.net.http.HttpClient HTTP = java.net.http.HttpClient.newBuilder()
            .connectTimeout(java.time.Duration.ofSeconds(5)).build();

    /**
     * Waits, at most {@code max}, until the gateways hold no stream; the streams still held then (0: drained). A run's
     * client closes its connections when it ends, but HAProxy and the gateway hold each one until the gateway's next
     * write to it fails (an event or the heartbeat, STREAM_HEARTBEAT_SECONDS; the first write after the close still
     * succeeds, so up to three heartbeats: 39 s after a 3,000-connection warm-up): started before that, the next run shares
     * HAProxy's maxconn (the largest count + 500) and the gateways with up to a whole previous run of dead streams (the
     * 8,000-connection runs after the 3,000 ones took 22 s to connect and, on one gateway, met a failed health check).
     */
    static long awaitNoStreams(LoadBalancedGateways lb, java.time.Duration max) throws IOException, InterruptedException {
        List<String> urls = new ArrayList<>();
        for (int i = 0; i < lb.nodes(); i++) {
            urls.add(lb.gatewayUrl(i));
        }
        return awaitNoStreams(urls, max);
    }

    /** {@link #awaitNoStreams(LoadBalancedGateways, java.time.Duration)} for the gateways at {@code gatewayUrls}. */
    static long awaitNoStreams(List<String> gatewayUrls, java.time.Duration max) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        long open;
        while ((open = openStreams(gatewayUrls)) > 0 && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        return open;
    }

    private static long openStreams(List<String> gatewayUrls) throws IOException, InterruptedException {
        long sum = 0;
        for (String url : gatewayUrls) {
            java.net.http.HttpResponse<String> res = HTTP.send(java.net.http.HttpRequest.newBuilder(
                            java.net.URI.create(url + "/metrics")).timeout(java.time.Duration.ofSeconds(20)).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            if (res.statusCode() != 200) {
                throw new IllegalStateException(url + "/metrics answered " + res.statusCode());
            }
            sum += gauge(res.body(), OPEN_STREAMS);
        }
        return sum;
    }

    /** The value of an unlabelled gauge in Prometheus text; an error when it is missing (a figure of 0 would lie). */
    static long gauge(String prometheusText, String name) {
        for (String line : prometheusText.split("\n")) {
            if (line.startsWith(name + " ")) {
                return (long) Double.parseDouble(line.substring(name.length() + 1).trim().split(" ")[0]);
            }
        }
        throw new IllegalStateException("no " + name + " in the gateway's /metrics: is it a CSR gateway of this build?");
    }

    /** The client's --url, --server-pids (every gateway and HAProxy; SseBench adds Redis) and --gateway-metrics. */
    static List<String> clientArgs(LoadBalancedGateways lb) {
        List<String> pids = new ArrayList<>();
        List<String> urls = new ArrayList<>();
        for (int i = 0; i < lb.nodes(); i++) {
            pids.add(Long.toString(lb.pid(i)));
            urls.add(lb.gatewayUrl(i));
        }
        pids.add(Long.toString(lb.haproxyPid()));
        return List.of("--url", lb.url() + "/stream/updates", "--server-pids", String.join(",", pids),
                "--gateway-metrics", String.join(",", urls));
    }

    /**
     * RSS of each serving process (every gateway and HAProxy) as started, before any connection: the base of memory per
     * connection. The client's own "before" is taken when it starts, after the warm-up grew the processes.
     */
    static Map<Long, Long> freshRss(LoadBalancedGateways lb) throws IOException {
        Map<Long, Long> m = new LinkedHashMap<>();
        for (int i = 0; i < lb.nodes(); i++) {
            m.put(lb.pid(i), rss(lb.pid(i)));
        }
        m.put(lb.haproxyPid(), rss(lb.haproxyPid()));
        return m;
    }

    private static long rss(long pid) throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (l.startsWith("VmRSS:")) {
                return Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/" + pid + "/status");
    }

    /** Adds {@code rssFreshBytes} (from {@link #freshRss}) to each process of a run's result file. */
    static void addFreshRss(Path result, Map<Long, Long> fresh) throws IOException {
        JsonNode run = Json.mapper().readTree(Files.readString(result));
        for (JsonNode p : run.path("serverRssByProcess")) {
            String name = p.path("process").asText();
            Long rss = fresh.get(Long.parseLong(name.substring(0, name.indexOf(' '))));
            if (rss != null) {
                ((com.fasterxml.jackson.databind.node.ObjectNode) p).put("rssFreshBytes", rss);
            }
        }
        Files.writeString(result, Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(run) + "\n");
    }

    /** The summary of the runs' result files ({@code fanout-lb-<N>g-<C>c.json}), with the ratios most/fewest gateways. */
    static Map<String, Object> summary(List<Path> files) throws IOException {
        List<Map<String, Object>> rows = new ArrayList<>();
        Map<Integer, TreeMap<Integer, Map<String, Object>>> byConnections = new TreeMap<>();
        for (Path f : files) {
            Map<String, Object> row = row(Json.mapper().readTree(Files.readString(f)), f);
            rows.add(row);
            byConnections.computeIfAbsent((Integer) row.get("connections"), c -> new TreeMap<>()).put((Integer) row.get("gateways"), row);
        }
        List<Map<String, Object>> ratios = new ArrayList<>();
        byConnections.forEach((connections, byGateways) -> {
            if (byGateways.size() < 2) {
                return;
            }
            Map<String, Object> few = byGateways.firstEntry().getValue();
            Map<String, Object> many = byGateways.lastEntry().getValue();
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("connections", connections);
            r.put("of", many.get("gateways") + " gateways / " + few.get("gateways"));
            for (String k : List.of("p99Ms", "entriesReadPerPublishedEntry", "gatewaysRssPerIdleConnectionBytes", "serverCpuSecondsPer100kDeliveries")) {
                r.put(k, ratio(many.get(k), few.get(k)));
            }
            ratios.add(r);
        });
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("complete", rows.stream().allMatch(r -> Boolean.TRUE.equals(r.get("complete"))));
        out.put("runs", rows);
        out.put("ratios", ratios);
        return out;
    }

    private static Map<String, Object> row(JsonNode run, Path file) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("gateways", run.at("/redisReads/gateways").asInt());
        r.put("connections", run.path("connectionsRequested").asInt());
        r.put("complete", run.path("complete").asBoolean());
        r.put("connectionsStreaming", run.path("connectionsStreaming").asInt());
        r.put("p50Ms", number(run.at("/latencyMs/p50")));
        r.put("p99Ms", number(run.at("/latencyMs/p99")));
        r.put("deliveriesPerSec", number(run.path("deliveriesPerSec")));
        r.put("entriesReadPerPublishedEntry", number(run.at("/redisReads/entriesReadPerPublishedEntry")));
        r.put("redisReadCallsPerPublishedEntry", number(run.at("/redisReads/redisReadCallsPerPublishedEntry")));
        long gateways = 0;
        Long haproxy = null;
        int streaming = Math.max(1, run.path("connectionsStreaming").asInt());
        for (JsonNode p : run.path("serverRssByProcess")) {
            String name = p.path("process").asText();
            // from the process as started when known (the warm-up before the run already grew it), else the client's
            long perConnection = p.has("rssFreshBytes") ? (p.path("rssIdleBytes").asLong() - p.path("rssFreshBytes").asLong()) / streaming
                    : p.path("rssPerIdleConnectionBytes").asLong();
            if (name.endsWith(" java")) {
                gateways += perConnection;
            } else if (name.endsWith(" haproxy")) {
                haproxy = perConnection;
            }
        }
        r.put("gatewaysRssPerIdleConnectionBytes", gateways);
        r.put("haproxyRssPerIdleConnectionBytes", haproxy);
        r.put("serverCpuSecondsPer100kDeliveries", number(run.path("serverCpuSecondsPer100kDeliveries")));
        r.put("loadAverage", run.path("loadAverage").asText());
        r.put("file", file.getFileName().toString());
        return r;
    }

    private static Double number(JsonNode n) {
        return n.isNumber() ? n.asDouble() : null;
    }

    private static Double ratio(Object many, Object few) {
        if (!(many instanceof Number m) || !(few instanceof Number f) || f.doubleValue() == 0) {
            return null;
        }
        return Math.round(m.doubleValue() / f.doubleValue() * 100) / 100.0;
    }
}
