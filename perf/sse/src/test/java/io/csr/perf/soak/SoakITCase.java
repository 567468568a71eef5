package io.csr.perf.soak;

import org.junit.jupiter.api.Test;

import java.time.Duration;

/**
 * The short soak of issue 26 on every build: {@code csr soak --minutes 3 --faults 12} with a fixed seed (one fault of
 * every kind), against processes of its own (needs the job and gateway jars this build packaged, and the
 * redis-server, nats-server, clickhouse-server and PostgreSQL 15 binaries `bin/csr test` makes sure of). Passes only
 * when every event, window, dead letter and dashboard was exact; the result lands in target/soak-results.
 */
class SoakITCase {
    @Test
    void threeMinutesTwelveFaultsEverythingExact() throws Exception {
        TestSoaks.passes("soak", TestSoaks.target("soak-results"), 3, 12, 26001, 25, 3, Duration.ofSeconds(300), false);
    }
}
