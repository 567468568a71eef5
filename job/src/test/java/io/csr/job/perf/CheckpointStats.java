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
 * the last few, so it is polled): end-to-end duration and size of each, for percentiles in the result. For the dedup
 * task alone also its state size and how long its subtasks took to snapshot (sync part, async upload), to take the
 * barrier's wait behind a busy pipeline (alignment, start delay) apart from what the state itself costs.
 */
final class CheckpointStats {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final String jobUrl;
    private final TreeMap<Long, long[]> completed = new TreeMap<>(); // id -> {durationMs, stateSizeBytes, checkpointedSizeBytes}
    /** id -> {stateSizeBytes, checkpointedSizeBytes, syncMs, asyncMs, alignmentMs, startDelayMs} (max over subtasks for times). */
    private final TreeMap<Long, long[]> dedup = new TreeMap<>();
    private String dedupVertex;
    private String dedupName;

    CheckpointStats(String restUrl, String jobId) {
        this.jobUrl = restUrl + "/jobs/" + jobId;
    }

    /** One poll; a failed poll (the REST endpoint busy or not up yet) is skipped, the next one catches up. */
    void poll() {
        try {
            JsonNode history = get("/checkpoints");
            if (history == null) {
                return;
            }
            for (JsonNode c : history.path("history")) {
                if ("COMPLETED".equals(c.path("status").asText())) {
                    long id = c.path("id").asLong();
                    completed.put(id, new long[]{c.path("end_to_end_duration").asLong(),
                            c.path("state_size").asLong(), c.path("checkpointed_size").asLong()});
                    if (!dedup.containsKey(id)) {
                        dedupTask(id);
                    }
                }
            }
        } catch (Exception e) {
            // skipped poll
        }
    }

    private void dedupTask(long id) throws Exception {
        if (dedupVertex == null) {
            JsonNode job = get("");
            for (JsonNode v : job == null ? Json.mapper().createArrayNode() : job.path("vertices")) {
                if (v.path("name").asText().contains("dedup")) {
                    dedupVertex = v.path("id").asText();
                    dedupName = v.path("name").asText();
                }
            }
            if (dedupVertex == null) {
                return;
            }
        }
        JsonNode t = get("/checkpoints/details/" + id + "/subtasks/" + dedupVertex);
        if (t == null) {
            return;
        }
        long sync = 0;
        long async = 0;
        long alignment = 0;
        long startDelay = 0;
        for (JsonNode s : t.path("subtasks")) {
            sync = Math.max(sync, s.path("checkpoint").path("sync").asLong());
            async = Math.max(async, s.path("checkpoint").path("async").asLong());
            alignment = Math.max(alignment, s.path("alignment").path("duration").asLong());
            startDelay = Math.max(startDelay, s.path("start_delay").asLong());
        }
        dedup.put(id, new long[]{t.path("state_size").asLong(), t.path("checkpointed_size").asLong(), sync, async, alignment, startDelay});
    }

    private JsonNode get(String path) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(jobUrl + path)).timeout(Duration.ofSeconds(2)).build(),
                HttpResponse.BodyHandlers.ofString());
        return r.statusCode() == 200 ? Json.mapper().readTree(r.body()) : null;
    }

    int count() {
        return completed.size();
    }

    /**
     * {"count":…, "durationMs":{p50,p95,max}, "stateSizeBytes":{…}, "checkpointedSizeBytes":{…}, "first":{…}} as JSON
     * text. The first checkpoint is also given alone: after a restore from a savepoint it uploads the whole RocksDB
     * state (nothing is shared with an earlier checkpoint yet), the later incremental ones only what changed.
     */
    String json() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("count", completed.size());
        if (!completed.isEmpty()) {
            Map.Entry<Long, long[]> first = completed.firstEntry();
            Map<String, Long> f = new LinkedHashMap<>();
            f.put("id", first.getKey());
            f.put("durationMs", first.getValue()[0]);
            f.put("stateSizeBytes", first.getValue()[1]);
            f.put("checkpointedSizeBytes", first.getValue()[2]);
            m.put("first", f);
        }
        m.put("durationMs", percentiles(completed, 0));
        m.put("stateSizeBytes", percentiles(completed, 1));
        m.put("checkpointedSizeBytes", percentiles(completed, 2));
        if (!dedup.isEmpty()) {
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("task", dedupName);
            d.put("checkpoints", dedup.size());
            d.put("stateSizeBytes", percentiles(dedup, 0));
            d.put("checkpointedSizeBytes", percentiles(dedup, 1));
            d.put("syncMs", percentiles(dedup, 2));
            d.put("asyncMs", percentiles(dedup, 3));
            d.put("alignmentMs", percentiles(dedup, 4));
            d.put("startDelayMs", percentiles(dedup, 5));
            m.put("dedupTask", d);
        }
        try {
            return Json.mapper().writeValueAsString(m);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static Map<String, Long> percentiles(Map<Long, long[]> checkpoints, int field) {
        List<Long> v = new ArrayList<>();
        checkpoints.values().forEach(c -> v.add(c[field]));
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
