package io.csr.job.testing;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JobExceptionHistoryTest {
    /** The shape of Flink 1.20's GET /jobs/:id/exceptions: one TaskManager loss seen by three tasks. */
    private static final String ONE_LOST_TASK_MANAGER = """
            {"exceptionHistory":{"entries":[
              {"exceptionName":"org.apache.flink.runtime.jobmaster.JobMasterException",
               "stacktrace":"org.apache.flink.runtime.jobmaster.JobMasterException: TaskManager with id tm-1 is no longer reachable.",
               "timestamp":1,"taskName":"source (1/2)","endpoint":"127.0.0.1:1","taskManagerId":"tm-1","failureLabels":{},
               "concurrentExceptions":[
                 {"exceptionName":"org.apache.flink.runtime.jobmaster.JobMasterException","stacktrace":"TaskManager with id tm-1 is no longer reachable.","timestamp":1},
                 {"exceptionName":"org.apache.flink.runtime.jobmaster.JobMasterException","stacktrace":"TaskManager with id tm-1 is no longer reachable.","timestamp":1}]}],
             "truncated":false}}
            """;

    @Test
    void aFailureSeenByManyTasksIsOneFailure() {
        JobExceptionHistory history = JobExceptionHistory.parse(ONE_LOST_TASK_MANAGER);
        assertThat(ONE_LOST_TASK_MANAGER.split("\"exceptionName\"", -1).length - 1).as("what counting the text gave").isEqualTo(3);
        assertThat(history.failures()).hasSize(1);
        assertThat(history.failuresMentioning("no longer reachable")).isEqualTo(1);
        assertThat(history.failuresMentioning("ClickHouse")).isZero();
        assertThat(history.truncated()).isFalse();
    }

    @Test
    void anAnswerWithoutTheHistoryIsRefused() {
        assertThatThrownBy(() -> JobExceptionHistory.parse("{\"root-exception\":\"x\"}")).hasMessageContaining("exceptionHistory");
    }
}
