package io.csr.job.upgrade;

import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.OperatorIDPair;
import org.apache.flink.runtime.checkpoint.OperatorState;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobgraph.JobVertex;
import org.apache.flink.runtime.jobgraph.OperatorID;
import org.apache.flink.runtime.state.OperatorStreamStateHandle;
import org.apache.flink.runtime.state.memory.ByteStreamStateHandle;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.flink.util.Collector;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SavepointCompatibilityTest {
    private static final String COUNTER_UID = "counter";
    private static final int MAX_PARALLELISM = 128;

    private SavepointCompatibility job;
    private JobGraph graph;

    @BeforeEach
    void buildJob() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(new Configuration());
        env.setParallelism(2);
        env.setMaxParallelism(MAX_PARALLELISM);
        env.fromSequence(1, 10).uid("numbers").name("numbers")
                .keyBy(n -> n % 3)
                .process(new Counter()).uid(COUNTER_UID).name("count per key")
                .sinkTo(new DiscardingSink<>()).uid("discard").name("discard");
        StreamGraph streamGraph = env.getStreamGraph();
        graph = streamGraph.getJobGraph();
        job = SavepointCompatibility.of(streamGraph, graph);
    }

    @Test
    void operatorIdsAreFlinksHashOfTheUid() {
        List<OperatorID> ids = graph.getVerticesSortedTopologicallyFromSources().stream()
                .map(JobVertex::getOperatorIDs).flatMap(List::stream).map(OperatorIDPair::getGeneratedOperatorID).toList();
        assertThat(ids).contains(SavepointCompatibility.operatorId(COUNTER_UID), SavepointCompatibility.operatorId("numbers"));
        assertThat(job.byUid(COUNTER_UID)).get().extracting(SavepointCompatibility.Operator::name).isEqualTo("count per key");
    }

    @Test
    void matchingStateRestores() {
        assertThat(job.check(List.of(state(SavepointCompatibility.operatorId(COUNTER_UID), MAX_PARALLELISM, true)), false)).isEmpty();
    }

    @Test
    void stateOfAnUnknownOperatorIsNamedWithTheOperatorsThatGetNothing() {
        OperatorID renamed = SavepointCompatibility.operatorId("counter-v0");
        List<String> problems = job.check(List.of(state(renamed, MAX_PARALLELISM, true)), false);
        assertThat(problems).hasSize(1);
        assertThat(problems.get(0)).contains(renamed.toString()).contains("'counter' (count per key)")
                .contains("old uid back").contains("--allow-non-restored-state");
        assertThat(job.check(List.of(state(renamed, MAX_PARALLELISM, true)), true)).as("allowed to drop it").isEmpty();
        assertThat(job.check(List.of(state(renamed, MAX_PARALLELISM, false)), false)).as("empty state is skipped, as Flink does").isEmpty();
    }

    @Test
    void aDifferentMaxParallelismIsRefusedWithTheValueToSet() {
        List<String> problems = job.check(List.of(state(SavepointCompatibility.operatorId(COUNTER_UID), 64, true)), false);
        assertThat(problems).anySatisfy(p -> assertThat(p).contains("'counter'").contains("MAX_PARALLELISM=64"));
    }

    @Test
    void aMissingSavepointNamesThePath(@TempDir Path dir) {
        String missing = dir.resolve("savepoint-000000-000000000000").toUri().toString();
        assertThatThrownBy(() -> SavepointCompatibility.load(missing))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(missing).hasMessageContaining("ls $SAVEPOINT_DIR");
    }

    @Test
    void theJobManagersRestoreErrorIsTranslated() {
        String id = SavepointCompatibility.operatorId("counter-v0").toString();
        String trace = "org.apache.flink.runtime.client.JobInitializationException: Could not start the JobMaster.\n"
                + "\tat x.y(Z.java:1)\n"
                + "Caused by: java.lang.IllegalStateException: Failed to rollback to checkpoint/savepoint file:/sp. "
                + "Cannot map checkpoint/savepoint state for operator " + id + " to the new program, because the operator is not "
                + "available in the new program.\n";
        assertThat(job.explainFailure(trace)).contains(id).contains("old uid back").contains("--allow-non-restored-state")
                .contains("Flink said: java.lang.IllegalStateException: Failed to rollback");
        assertThat(job.explainFailure("Caused by: org.apache.flink.util.StateMigrationException: The new state serializer for "
                + "operator count per key is incompatible")).contains("'counter' (count per key)").contains("State Processor API");
    }

    private static OperatorState state(OperatorID id, int maxParallelism, boolean withState) {
        OperatorState s = new OperatorState(id, 2, maxParallelism);
        OperatorSubtaskState.Builder b = OperatorSubtaskState.builder();
        if (withState) {
            b.setManagedOperatorState(new OperatorStreamStateHandle(Map.of(), new ByteStreamStateHandle("h", new byte[]{1, 2, 3})));
        }
        s.putState(0, b.build());
        return s;
    }

    /** A keyed operator with state, as the job's dedup/window operators. */
    private static final class Counter extends KeyedProcessFunction<Long, Long, Long> {
        private transient ValueState<Long> count;

        @Override
        public void open(org.apache.flink.api.common.functions.OpenContext ctx) {
            count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Long.class));
        }

        @Override
        public void processElement(Long value, Context ctx, Collector<Long> out) throws Exception {
            long n = count.value() == null ? 1 : count.value() + 1;
            count.update(n);
            out.collect(n);
        }
    }
}
