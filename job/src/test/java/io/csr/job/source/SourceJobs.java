package io.csr.job.source;

import io.csr.job.model.RawMessage;
import io.csr.job.testing.LocalServers;
import io.csr.job.testing.TestStream;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.SinkFunction;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

/**
 * What the source ITCases share: the test's own NATS stream ({@link TestStream}) and local Flink jobs that read it
 * through the JetStream source, strip the subject prefix and hand every message to {@link #SEEN}, with 500 ms
 * checkpoints in a directory of the test's own. A JUnit extension ({@code @RegisterExtension}): each test gets a new
 * stream; after it, every job it started that still runs is cancelled (a failed assertion must not leave a job
 * reading), and the stream and the directory are removed.
 */
final class SourceJobs implements BeforeEachCallback, AfterEachCallback {
    /** What the jobs' sink received; one test at a time (the sink hands messages out of Flink through it). */
    static final Queue<RawMessage> SEEN = new ConcurrentLinkedQueue<>();

    private final List<JobClient> started = new ArrayList<>();
    private TestStream stream;
    private Path tmp;

    @Override
    public void beforeEach(ExtensionContext context) throws Exception {
        SEEN.clear();
        started.clear();
        tmp = Files.createTempDirectory("csr-source-it");
        stream = new TestStream();
    }

    /** The test's own stream. */
    TestStream stream() {
        return stream;
    }

    /**
     * A job with {@code parallelism} source readers, restored from {@code savepoint} unless it is null.
     *
     * @param source what the test sets on the source beside the stream and its prefix
     * @param more   settings of the job beside the checkpoints
     */
    JobClient start(String name, String savepoint, int parallelism, UnaryOperator<EventSourceBuilder> source, Configuration more)
            throws Exception {
        Configuration conf = new Configuration();
        conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofMillis(500));
        conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, tmp.resolve("chk").toUri().toString());
        conf.addAll(more);
        if (savepoint != null) {
            conf.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(parallelism, conf);
        EventSourceBuilder builder = source.apply(new EventSourceBuilder().natsUrl(TestStream.NATS_URL).streamName(stream.stream)
                .subjectPrefix(stream.prefix));
        env.fromSource(builder.build(), WatermarkStrategy.noWatermarks(), "nats").uid("nats-source").setParallelism(parallelism)
                .map(builder.prefixStripper()).uid("strip-prefix")
                .addSink(new Collect()).uid("collect");
        JobClient job = env.executeAsync(name);
        started.add(job);
        return job;
    }

    /** Stops the job with a savepoint (canonical format) in {@code dir} under the test's directory; the savepoint's path. */
    String stopWithSavepoint(JobClient job, String dir) throws Exception {
        return job.stopWithSavepoint(false, tmp.resolve(dir).toUri().toString(), SavepointFormatType.CANONICAL).get(60, TimeUnit.SECONDS);
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        for (JobClient job : started) {
            try {
                job.cancel().get(30, TimeUnit.SECONDS);
            } catch (Exception alreadyOver) {
                // finished, stopped or failed: nothing to cancel
            }
        }
        try {
            stream.close();
        } finally {
            LocalServers.deleteTree(tmp);
        }
    }

    private static final class Collect implements SinkFunction<RawMessage> {
        @Override
        public void invoke(RawMessage value, Context context) {
            SEEN.add(value);
        }
    }
}
