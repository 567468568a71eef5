package io.csr.job.aggregate;

import io.csr.job.model.CsrEvent;
import io.csr.job.pipeline.TestMetrics;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * A test of the window operator with a harness of its own: {@link AggregatorTesting#aggregator()} opened at
 * processing time 0 before each test (a test may replace it, closing the old one), closed after.
 */
abstract class WindowOperatorTest {
    protected KeyedOneInputStreamOperatorTestHarness<String, CsrEvent, WindowFiring> harness;
    protected TestMetrics metrics;

    @BeforeEach
    void openHarness() throws Exception {
        metrics = new TestMetrics();
        harness = AggregatorTesting.opened(AggregatorTesting.aggregator(), metrics);
    }

    @AfterEach
    void closeHarness() throws Exception {
        harness.close();
        metrics.close();
    }
}
