package io.csr.perf.soak;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * The running job's checkpoint counts and restarts as its REST API reports them (Flink's {@code /jobs/{id}/checkpoints}
 * and the failures of {@code /jobs/{id}/exceptions}): what a fault did to checkpointing, for the soak's fault detail. A job that does
 * not answer reads as all -1.
 */
record JobCheckpoints(String jobId, long completed, long failed, long restarts, JsonNode history) {
    static JobCheckpoints read(OwnServices services) {
        String rest = "http://127.0.0.1:" + services.flinkPort;
        try {
            JsonNode jobs = get(rest + "/jobs/overview").path("jobs");
            String id = null;
            for (JsonNode j : jobs) {
                if ("RUNNING".equals(j.path("state").asText()) || id == null) {
                    id = j.path("jid").asText();
                }
            }
            if (id == null) {
                return new JobCheckpoints(null, -1, -1, -1, null);
            }
            JsonNode cp = get(rest + "/jobs/" + id + "/checkpoints");
            // each failure the job restarted from is an entry of its exception history (Flink keeps the newest 16)
            JsonNode failures = get(rest + "/jobs/" + id + "/exceptions").path("exceptionHistory").path("entries");
            long restarts = failures.isArray() ? failures.size() : -1;
            return new JobCheckpoints(id, cp.path("counts").path("completed").asLong(-1), cp.path("counts").path("failed").asLong(-1),
                    restarts, cp.path("history"));
        } catch (Exception e) {
            return new JobCheckpoints(null, -1, -1, -1, null);
        }
    }

    /**
     * What happened since {@code before}: checkpoints failed and completed, restarts, and the first checkpoint completed
     * after {@code restoredAtMs} (the disk freed), ms after it. When the job was started again meanwhile, the new job's
     * counts from its start.
     */
    String since(JobCheckpoints before, long restoredAtMs) {
        Long firstAfter = null;
        if (history != null) {
            for (JsonNode h : history) {
                long ack = h.path("latest_ack_timestamp").asLong(-1);
                if ("COMPLETED".equals(h.path("status").asText()) && h.path("trigger_timestamp").asLong() >= restoredAtMs
                        && (firstAfter == null || ack - restoredAtMs < firstAfter)) {
                    firstAfter = ack - restoredAtMs;
                }
            }
        }
        if (jobId != null && !jobId.equals(before.jobId)) {
            before = new JobCheckpoints(jobId, 0, 0, 0, null); // a new job (the process was started again): its counts from 0
        }
        return "checkpoints failed " + delta(failed, before.failed) + ", completed " + delta(completed, before.completed) + ", job restarts "
                + delta(restarts, before.restarts) + ", first checkpoint completed " + (firstAfter == null ? "n/a (not in the history)"
                : firstAfter + " ms") + " after the disk was freed";
    }

    private static String delta(long now, long before) {
        return now < 0 || before < 0 ? "n/a" : "+" + (now - before);
    }

    private static JsonNode get(String url) throws Exception {
        HttpResponse<String> r = OwnServices.HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(3)).build(),
                HttpResponse.BodyHandlers.ofString());
        return Json.mapper().readTree(r.body());
    }
}
