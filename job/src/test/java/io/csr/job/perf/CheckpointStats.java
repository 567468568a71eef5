package io.csr.job.perf;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Completed checkpoints of one job, collected from the Flink REST API while the benchmark runs (its history keeps only
 * the last few, so it is polled): end-to-end duration and size of each, for percentiles in the result.
 */
final class CheckpointStats {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final URI uri;
    private final Map<Long, long[]> completed = new TreeMap<>(); // id -> {durationMs, stateSizeBytes, checkpointedSizeBytes}

    CheckpointStats(String restUrl, String jobId) {
        this.uri = URI.create(restUrl + "/jobs/" + jobId + "/checkpoints");
    }

    /** One poll; a failed poll (the REST endpoint busy or not up yet) is skipped, the next one catches up. */
    void poll() {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(2)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                return;
            }
            for (JsonNode c : Json.mapper().readTree(r.body()).path("history")) {
                if ("COMPLETED".equals(c.path("status").asText())) {
                    completed.put(c.path("id").asLong(), new long[]{c.path("end_to_end_duration").asLong(),
                            c.path("state_size").asLong(), c.path("checkpointed_size").asLong()});
                }
            }
        } catch (Exception e) {
            // skipped poll
        }
    }

    int count() {
        return completed.size();
    }

    /** {"count":…, "durationMs":{p50,p95,max}, "stateSizeBytes":{…}, "checkpointedSizeBytes":{…}} as JSON text. */
    String json() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("count", completed.size());
        m.put("durationMs", percentiles(0));
        m.put("stateSizeBytes", percentiles(1));
        m.put("checkpointedSizeBytes", percentiles(2));
        try {
            return Json.mapper().writeValueAsString(m);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private Map<String, Long> percentiles(int field) {
        List<Long> v = new ArrayList<>();
        completed.values().forEach(c -> v.add(c[field]));
        v.sort(null);
        Map<String, Long> p = new LinkedHashMap<>();
        if (v.isEmpty()) {
            return p;
        }
        p.put("p50", v.get((int) Math.min(v.size() - 1, Math.round(0.50 * (v.size() - 1)))));
        p.put("p95", v.get((int) Math.min(v.size() - 1, Math.round(0.95 * (v.size() - 1)))));
        p.put("max", v.get(v.size() - 1));
        return p;
    }

    static String loadAverage() {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).trim();
        } catch (java.io.IOException e) {
            return "n/a";
        }
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%d checkpoints %s", completed.size(), json());
    }
}
