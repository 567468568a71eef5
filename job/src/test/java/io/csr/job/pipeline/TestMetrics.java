package io.csr.job.pipeline;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Metric;
import org.apache.flink.runtime.jobgraph.OperatorID;
import org.apache.flink.runtime.metrics.groups.InternalOperatorMetricGroup;
import org.apache.flink.runtime.metrics.util.InterceptingOperatorMetricGroup;
import org.apache.flink.runtime.metrics.util.InterceptingTaskMetricGroup;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.operators.testutils.MockEnvironmentBuilder;

/** A mock task environment whose operator metric group keeps what operators register, so tests can read counters. */
public final class TestMetrics implements AutoCloseable {
    private final InterceptingOperatorMetricGroup operatorGroup = new InterceptingOperatorMetricGroup();
    private final MockEnvironment environment = new MockEnvironmentBuilder()
            .setMetricGroup(new InterceptingTaskMetricGroup() {
                @Override
                public InternalOperatorMetricGroup getOrAddOperator(OperatorID operatorID, String name) {
                    return operatorGroup;
                }
            })
            .build();

    public MockEnvironment environment() {
        return environment;
    }

    public long count(String counter) {
        Metric metric = operatorGroup.get(counter);
        if (!(metric instanceof Counter)) {
            throw new AssertionError("no counter '" + counter + "' was registered (found " + metric + ")");
        }
        return ((Counter) metric).getCount();
    }

    public Object gauge(String gauge) {
        Metric metric = operatorGroup.get(gauge);
        if (!(metric instanceof org.apache.flink.metrics.Gauge<?> g)) {
            throw new AssertionError("no gauge '" + gauge + "' was registered (found " + metric + ")");
        }
        return g.getValue();
    }

    @Override
    public void close() throws Exception {
        environment.close();
    }
}
