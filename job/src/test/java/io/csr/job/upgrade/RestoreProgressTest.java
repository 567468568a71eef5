package io.csr.job.upgrade;

import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class RestoreProgressTest {
    private static final String NO_CHECKPOINT = "{\"counts\":{\"restored\":1,\"total\":0,\"in_progress\":0,\"completed\":0,\"failed\":0}}";
    private static final String ONE_CHECKPOINT = "{\"counts\":{\"restored\":1,\"total\":1,\"in_progress\":0,\"completed\":1,\"failed\":0}}";
    private static final String NO_EXCEPTIONS = "{\"root-exception\":null,\"all-exceptions\":[],\"truncated\":false,"
            + "\"exceptionHistory\":{\"entries\":[],\"truncated\":false}}";

    private final SavepointCompatibility job = job();

    @Test
    void aCompletedCheckpointAfterTheRestoreMeansEveryTaskRestored() {
        assertThat(RestoreProgress.judge(JobStatus.RUNNING, NO_CHECKPOINT, NO_EXCEPTIONS, job).state()).isEqualTo(RestoreProgress.State.PENDING);
        assertThat(RestoreProgress.judge(JobStatus.RUNNING, ONE_CHECKPOINT, NO_EXCEPTIONS, job).state()).isEqualTo(RestoreProgress.State.RESTORED);
        assertThat(RestoreProgress.judge(JobStatus.RUNNING, "", "", job).state()).as("REST not answering yet").isEqualTo(RestoreProgress.State.PENDING);
    }

    @Test
    void aTaskFailingOnRestoreIsNamedAndExplained() {
        String exceptions = "{\"exceptionHistory\":{\"entries\":[{\"exceptionName\":\"org.apache.flink.util.StateMigrationException\","
                + "\"stacktrace\":\"java.lang.Exception: Exception while creating StreamOperatorStateContext.\\n\\tat a.b(C.java:1)\\n"
                + "Caused by: org.apache.flink.util.StateMigrationException: The new state serializer (LongSerializer) must not be incompatible with the old state serializer (StringSerializer).\\n\","
                + "\"timestamp\":1,\"taskName\":\"count per key (1/2)\"}],\"truncated\":false}}";
        RestoreProgress.Verdict v = RestoreProgress.judge(JobStatus.RESTARTING, NO_CHECKPOINT, exceptions, job);
        assertThat(v.state()).isEqualTo(RestoreProgress.State.FAILED);
        assertThat(v.message()).contains("task count per key (1/2)").contains("'counter' (count per key)")
                .contains("State Processor API").contains("StateMigrationException: The new state serializer");
    }

    private static SavepointCompatibility job() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(new Configuration());
        env.fromSequence(1, 10).uid("numbers").keyBy(n -> n % 3).map(n -> n).uid("counter").name("count per key")
                .sinkTo(new DiscardingSink<>()).uid("discard");
        StreamGraph g = env.getStreamGraph();
        return SavepointCompatibility.of(g, g.getJobGraph());
    }
}
