package io.csr.job.pipeline;

import io.csr.job.config.JobOptions;
import io.csr.job.model.RawMessage;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;

/** Not a test: run with -Dtest=PipelineThroughputProbe to measure operator throughput without NATS/ClickHouse. */
class PipelineThroughputProbe {
    @Test
    void measure() throws Exception {
        long n = Long.getLong("probe.events", 400_000L);
        long t0 = Instant.parse("2026-11-27T10:00:00Z").toEpochMilli();
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        if (Boolean.getBoolean("probe.reuse")) {
            env.getConfig().enableObjectReuse();
        }
        DataStream<RawMessage> raw = env.fromSequence(0, n - 1).map(i -> {
            long at = t0 + i * 10; // 100 events per second of event time
            String company = "c" + (i % 10);
            if (i % 10 == 3) {
                String json = "{\"eventId\":\"j" + i + "\",\"companyId\":\"" + company + "\",\"userId\":\"u" + (i % 997)
                        + "\",\"occurredAt\":\"" + Instant.ofEpochMilli(at) + "\",\"value\":" + (i % 3 == 0) + "}";
                return new RawMessage("S", "journey.onboarded", i, at + 5, json.getBytes(StandardCharsets.UTF_8));
            }
            String json = "{\"eventId\":\"e" + i + "\",\"companyId\":\"" + company + "\",\"userId\":\"u" + (i % 997)
                    + "\",\"occurredAt\":\"" + Instant.ofEpochMilli(at) + "\",\"value\":" + ((i * 7919) % 1000) / 10.0 + "}";
            return new RawMessage("S", "metrics.m" + (i % 5), i, at + 5, json.getBytes(StandardCharsets.UTF_8));
        }).returns(TypeInformation.of(RawMessage.class)).name("generate");
        CsrPipeline.PipelineOutputs out = CsrPipeline.build(raw, JobOptions.defaults());
        out.rows().sinkTo(new DiscardingSink<>());
        out.updates().sinkTo(new DiscardingSink<>());
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        long cpu0 = os.getProcessCpuTime();
        long start = System.nanoTime();
        env.execute("probe");
        double seconds = (System.nanoTime() - start) / 1e9;
        double cpuSeconds = (os.getProcessCpuTime() - cpu0) / 1e9;
        System.out.printf("PROBE %d events in %.2f s = %.0f events/s; CPU %.2f s = %.1f us/event%n",
                n, seconds, n / seconds, cpuSeconds, cpuSeconds * 1e6 / n);
    }
}
