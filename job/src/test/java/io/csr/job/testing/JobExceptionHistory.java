package io.csr.job.testing;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The failures of a job as Flink 1.20's REST API lists them ({@code GET /jobs/:id/exceptions}): one entry per failure
 * the job recovered from, in {@code exceptionHistory.entries}. Each entry repeats the exceptions of the same failure
 * seen by other tasks in its {@code concurrentExceptions} — one TaskManager loss shows up once per task slot there —
 * so counting {@code "exceptionName"} in the text counts those repeats; only the root entries are failures.
 */
public final class JobExceptionHistory {
    /** One failure: its exception and the full stack trace (causes included), as Flink recorded it. */
    public record Failure(String exceptionName, String stacktrace) {
        public boolean mentions(String text) {
            return exceptionName.contains(text) || stacktrace.contains(text);
        }
    }

    private final List<Failure> failures;
    private final boolean truncated;

    private JobExceptionHistory(List<Failure> failures, boolean truncated) {
        this.failures = failures;
        this.truncated = truncated;
    }

    public static JobExceptionHistory parse(String json) {
        try {
            JsonNode history = Json.mapper().readTree(json).path("exceptionHistory");
            if (!history.has("entries")) {
                throw new IllegalArgumentException("no exceptionHistory.entries in the job's exceptions: " + json);
            }
            List<Failure> out = new ArrayList<>();
            for (JsonNode entry : history.get("entries")) {
                out.add(new Failure(entry.path("exceptionName").asText(), entry.path("stacktrace").asText()));
            }
            return new JobExceptionHistory(List.copyOf(out), history.path("truncated").asBoolean(false));
        } catch (IOException e) {
            throw new IllegalArgumentException("not JSON: " + json, e);
        }
    }

    /** The failures the job recovered from (root entries only), newest first as Flink lists them. */
    public List<Failure> failures() {
        return failures;
    }

    /** True when Flink dropped older entries (more failures than it keeps). */
    public boolean truncated() {
        return truncated;
    }

    /** How many failures mention {@code text} in their exception or stack trace. */
    public long failuresMentioning(String text) {
        return failures.stream().filter(f -> f.mentions(text)).count();
    }
}
