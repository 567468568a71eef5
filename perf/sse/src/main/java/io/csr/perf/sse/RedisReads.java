package io.csr.perf.sse;

import redis.clients.jedis.Jedis;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How much reading of Redis a run cost: the stream entries the gateways' tail readers read (the sum of their
 * {@code csr_stream_entries_read_total}, exact and ours alone) and Redis's own {@code XREAD} / {@code XRANGE} call
 * counts ({@code INFO commandstats}: the whole server's, so anything else using the same Redis counts too). Taken
 * before and after the publishing; the difference per published entry says how many times Redis served each entry
 * (one gateway: 1; N gateways without affinity by company: up to N).
 */
public record RedisReads(long entriesRead, long xreadCalls, long xrangeCalls) {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    static final String ENTRIES_READ = "csr_stream_entries_read_total";

    /** Now, from each gateway's {@code /metrics} ({@code gateways}: their base URLs) and Redis at {@code redisUrl}. */
    public static RedisReads of(List<String> gateways, String redisUrl) throws IOException, InterruptedException {
        long entries = 0;
        for (String g : gateways) {
            HttpResponse<String> res = HTTP.send(HttpRequest.newBuilder(URI.create(g + "/metrics")).timeout(Duration.ofSeconds(20)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (res.statusCode() != 200) {
                throw new IllegalStateException(g + "/metrics answered " + res.statusCode() + "; --gateway-metrics takes each gateway's base URL");
            }
            entries += counter(res.body(), ENTRIES_READ);
        }
        try (Jedis jedis = new Jedis(URI.create(redisUrl))) {
            String stats = jedis.info("commandstats");
            return new RedisReads(entries, calls(stats, "xread"), calls(stats, "xrange"));
        }
    }

    /** The value of an unlabelled counter in Prometheus text; an error when it is missing (a figure of 0 would lie). */
    static long counter(String prometheusText, String name) {
        for (String line : prometheusText.split("\n")) {
            if (line.startsWith(name + " ")) {
                return (long) Double.parseDouble(line.substring(name.length() + 1).trim().split(" ")[0]);
            }
        }
        throw new IllegalStateException("no " + name + " in the gateway's /metrics: is it a CSR gateway of this build?");
    }

    /** {@code calls} of {@code cmdstat_<command>} in INFO commandstats; 0 when the command never ran. */
    static long calls(String commandstats, String command) {
        for (String line : commandstats.split("\r?\n")) {
            if (line.startsWith("cmdstat_" + command + ":")) {
                for (String kv : line.substring(line.indexOf(':') + 1).split(",")) {
                    if (kv.startsWith("calls=")) {
                        return Long.parseLong(kv.substring(6));
                    }
                }
            }
        }
        return 0;
    }

    /** What happened between {@code before} and this, per published entry. */
    public Map<String, Object> since(RedisReads before, long entriesPublished, int gateways) {
        Map<String, Object> m = new LinkedHashMap<>();
        long entries = entriesRead - before.entriesRead;
        long xread = xreadCalls - before.xreadCalls;
        long xrange = xrangeCalls - before.xrangeCalls;
        m.put("gateways", gateways);
        m.put("entriesPublished", entriesPublished);
        m.put("entriesReadByGateways", entries);
        m.put("entriesReadPerPublishedEntry", entriesPublished == 0 ? null : Math.round(entries * 1000.0 / entriesPublished) / 1000.0);
        m.put("redisXreadCalls", xread);
        m.put("redisXrangeCalls", xrange);
        m.put("redisReadCallsPerPublishedEntry", entriesPublished == 0 ? null : Math.round((xread + xrange) * 1000.0 / entriesPublished) / 1000.0);
        m.put("note", "entriesRead: the gateways' own counter (exact); XREAD/XRANGE calls: INFO commandstats of the whole Redis, "
                + "so other users of the same Redis count too");
        return m;
    }
}
