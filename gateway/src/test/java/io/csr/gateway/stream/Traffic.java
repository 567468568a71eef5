package io.csr.gateway.stream;

import io.csr.common.contract.RedisStreams;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.params.XAddParams;

import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

/**
 * Updates under a failover: round {@code n} adds a {@code metric_updated} of version {@code n} to each company's
 * stream, one round every 10 ms, each XADD retried until it is acknowledged (a failover in progress answers with
 * errors for a while), so at least once. The failover ITCases share it; {@link #close()} stops it.
 */
final class Traffic implements AutoCloseable {
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicInteger rounds = new AtomicInteger();
    private final Thread thread;

    private Traffic(UnifiedJedis writer, UnaryOperator<String> keyOf, List<String> companies) {
        this.thread = Thread.ofPlatform().name("it-traffic").start(() -> {
            try {
                while (running.get()) {
                    int n = rounds.incrementAndGet();
                    for (String company : companies) {
                        publish(writer, keyOf.apply(company), company, n);
                    }
                    Thread.sleep(10);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    /** Starts the rounds: {@code keyOf} names a company's stream. */
    static Traffic start(UnifiedJedis writer, UnaryOperator<String> keyOf, List<String> companies) {
        return new Traffic(writer, keyOf, companies);
    }

    /** The fields of a {@code metric_updated} entry of {@code version} for {@code company}. */
    static Map<String, String> update(String company, int version) {
        String data = "{\"companyId\":\"" + company + "\",\"metric\":\"m\",\"window\":\"1m\",\"version\":" + version + "}";
        return Map.of(RedisStreams.FIELD_TYPE, "metric_updated", RedisStreams.FIELD_DATA, data);
    }

    private static void publish(UnifiedJedis writer, String key, String company, int version) throws InterruptedException {
        while (true) {
            try {
                writer.xadd(key, XAddParams.xAddParams(), update(company, version));
                return;
            } catch (RuntimeException e) {
                Thread.sleep(50);
            }
        }
    }

    /** Rounds started so far. */
    int rounds() {
        return rounds.get();
    }

    /** Stops after the round in progress; returns once it is done. */
    @Override
    public void close() throws InterruptedException {
        running.set(false);
        thread.join();
    }
}
