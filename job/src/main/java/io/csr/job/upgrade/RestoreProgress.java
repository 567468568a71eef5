package io.csr.job.upgrade;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.api.common.JobStatus;

import java.io.IOException;
import java.util.Optional;

/**
 * Whether a job submitted from a savepoint has restored its state in every task, judged from what the REST API says
 * about it. The JobManager only checks that operators match (see {@link SavepointCompatibility}); a state whose type
 * changed incompatibly fails later, inside the task that restores it, and the job then restarts over and over. A
 * completed checkpoint proves every task restored; a restart or failure before it is reported with the task's name.
 */
public final class RestoreProgress {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** PENDING: keep waiting; RESTORED: a checkpoint completed after the restore; FAILED: see {@link Verdict#message}. */
    public enum State { PENDING, RESTORED, FAILED }

    public record Verdict(State state, String message) {
    }

    private RestoreProgress() {
    }

    /**
     * @param status      the job's status now
     * @param checkpoints body of GET /jobs/:id/checkpoints (empty when not available)
     * @param exceptions  body of GET /jobs/:id/exceptions (empty when not available)
     */
    public static Verdict judge(JobStatus status, String checkpoints, String exceptions, SavepointCompatibility job) {
        Optional<JsonNode> failure = firstFailure(exceptions);
        if (failure.isPresent()) {
            JsonNode f = failure.get();
            String task = f.path("taskName").asText("");
            return new Verdict(State.FAILED, "a task failed right after the restore" + (task.isEmpty() ? "" : " (task " + task + ")")
                    + ": " + job.explainFailure(f.path("stacktrace").asText(f.path("exceptionName").asText("unknown error"))
                    + "\n(in task " + task + ")"));
        }
        if (status == JobStatus.FAILED || status == JobStatus.CANCELED) {
            return new Verdict(State.FAILED, "the job ended " + status + " right after the restore");
        }
        return completedCheckpoints(checkpoints) > 0 ? new Verdict(State.RESTORED, "") : new Verdict(State.PENDING, "");
    }

    static long completedCheckpoints(String checkpoints) {
        return parse(checkpoints).map(n -> n.path("counts").path("completed").asLong(0)).orElse(0L);
    }

    private static Optional<JsonNode> firstFailure(String exceptions) {
        return parse(exceptions).map(n -> n.path("exceptionHistory").path("entries"))
                .filter(e -> e.isArray() && !e.isEmpty()).map(e -> e.get(e.size() - 1));
    }

    private static Optional<JsonNode> parse(String body) {
        if (body == null || body.isBlank()) {
            return Optional.empty();
        }
        try {
            return Optional.of(JSON.readTree(body));
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}
