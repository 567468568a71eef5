package io.csr.job.perf;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * How long the job took to start, from the Flink REST API of the embedded job: submission until every task runs, and
 * per task how long its subtasks were INITIALIZING — where a task restores its state, so the dedup task's figure is the
 * restore time of the preloaded ids.
 */
final class StartupStats {
    private static final Set<String> STARTED = Set.of("RUNNING", "FINISHED");

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final String restUrl;
    private final long submittedNanos;
    private volatile String jobId;
    private volatile long runningMs = -1;

    /** @param submittedNanos {@link System#nanoTime()} just before the job was submitted */
    StartupStats(String restUrl, long submittedNanos) {
        this.restUrl = restUrl;
        this.submittedNanos = submittedNanos;
    }

    /** Polls every 100 ms on a daemon thread until every task of {@code jobId} runs (or an hour passed). */
    void watch(String jobId) {
        this.jobId = jobId;
        Thread t = new Thread(() -> {
            long deadline = System.nanoTime() + Duration.ofHours(1).toNanos();
            while (System.nanoTime() < deadline) {
                if (allStarted()) {
                    runningMs = (System.nanoTime() - submittedNanos) / 1_000_000;
                    return;
                }
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "startup-stats");
        t.setDaemon(true);
        t.start();
    }

    /** Milliseconds from submission until every task ran; -1 while not yet. */
    long runningMs() {
        return runningMs;
    }

    private boolean allStarted() {
        JsonNode job = get("/jobs/" + jobId);
        if (job == null || job.path("vertices").isEmpty()) {
            return false;
        }
        for (JsonNode v : job.path("vertices")) {
            if (!STARTED.contains(v.path("status").asText())) {
                return false;
            }
        }
        return true;
    }

    /**
     * {"submitToRunningMs":…, "dedupInitializingMs":…, "initializingMsByTask":{name: max over subtasks}} as JSON text
     * (a figure the REST API did not give is -1).
     */
    String json() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("submitToRunningMs", runningMs);
        Map<String, Long> byTask = new LinkedHashMap<>();
        long dedup = -1;
        JsonNode job = get("/jobs/" + jobId);
        if (job != null) {
            for (JsonNode v : job.path("vertices")) {
                JsonNode detail = get("/jobs/" + jobId + "/vertices/" + v.path("id").asText());
                long max = -1;
                if (detail != null) {
                    for (JsonNode s : detail.path("subtasks")) {
                        max = Math.max(max, s.path("status-duration").path("INITIALIZING").asLong(-1));
                    }
                }
                String name = v.path("name").asText();
                byTask.put(name.length() > 80 ? name.substring(0, 80) + "…" : name, max);
                if (name.contains("dedup")) {
                    dedup = max;
                }
            }
        }
        m.put("dedupInitializingMs", dedup);
        m.put("initializingMsByTask", byTask);
        try {
            return Json.mapper().writeValueAsString(m);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private JsonNode get(String path) {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(restUrl + path)).timeout(Duration.ofSeconds(2)).build(),
                    HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? Json.mapper().readTree(r.body()) : null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } catch (Exception e) {
            return null; // the REST endpoint not up yet: the next poll asks again
        }
    }
}
