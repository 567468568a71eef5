package io.csr.job.testing;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The fixture ExactlyOnceITCase's third fault relies on: an INSERT held by the proxy is in flight when the server dies. */
class InsertHoldingProxyITCase {
    @TempDir
    Path tmp;

    @Test
    void aHeldInsertStaysUnansweredUntilTheServerIsKilledAndThenFailsAndNeverLands() throws Exception {
        try (PrivateClickHouse server = new PrivateClickHouse(tmp.resolve("ch")).start();
             InsertHoldingProxy proxy = new InsertHoldingProxy(server.httpPort());
             ClickHouseAccess direct = ClickHouseAccess.open(new ClickHouseSettings(server.url(), "default", "", "hold_it", false, 30_000));
             ClickHouseAccess viaProxy = ClickHouseAccess.open(new ClickHouseSettings(proxy.url(), "default", "", "hold_it", false, 30_000))) {
            direct.createDatabaseIfMissing();
            direct.execute("CREATE TABLE t (k UInt32, s String) ENGINE = MergeTree ORDER BY k");
            StringBuilder rows = new StringBuilder();
            for (int i = 0; rows.length() < 4 * InsertHoldingProxy.HOLD_AFTER_BYTES; i++) {
                rows.append("{\"k\":").append(i).append(",\"s\":\"").append("x".repeat(100)).append("\"}\n");
            }
            byte[] body = rows.toString().getBytes(StandardCharsets.UTF_8);
            viaProxy.insertJsonEachRow("t", body); // not armed: passes through
            assertThat(direct.queryLong("SELECT count() FROM t")).isPositive();
            long before = direct.queryLong("SELECT count() FROM t");

            InsertHoldingProxy.Hold hold = proxy.armInsertHold();
            CompletableFuture<Long> insert = CompletableFuture.supplyAsync(() -> viaProxy.insertJsonEachRow("t", body));
            assertThat(hold.awaitCaught(30, TimeUnit.SECONDS)).as("the INSERT was caught").isTrue();
            assertThat(hold.request()).startsWith("INSERT INTO");
            Thread.sleep(2_000);
            assertThat(insert).as("held: no answer while the rest of its data waits").isNotDone();
            assertThat(direct.queryLong("SELECT count() FROM t")).isEqualTo(before);

            server.kill();
            hold.release();
            assertThat(insert).failsWithin(Duration.ofSeconds(40));
            server.start();
            // the client's pooled connections died with the server: the first query after the restart may fail
            long after = await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
                    .until(() -> direct.queryLong("SELECT count() FROM t"), c -> c >= 0);
            assertThat(after).as("the killed INSERT wrote nothing").isEqualTo(before);
            direct.dropDatabase();
        }
    }
}
