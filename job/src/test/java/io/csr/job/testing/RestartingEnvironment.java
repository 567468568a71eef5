package io.csr.job.testing;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.time.Duration;

/** A local (MiniCluster) job environment for a test that makes its job fail: it restarts, a fixed 200 ms apart. */
public final class RestartingEnvironment {
    private RestartingEnvironment() {
    }

    /** Restarts a failed job up to {@code attempts} times; the test's failures must fit in that budget. */
    public static StreamExecutionEnvironment upTo(int attempts) {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        Configuration conf = new Configuration();
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, attempts);
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(200));
        env.configure(conf);
        return env;
    }
}
