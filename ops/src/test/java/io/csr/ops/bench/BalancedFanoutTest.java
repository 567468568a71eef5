package io.csr.ops.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The summary of bench fanout --gateways: a row per run, the ratios of the most gateways to the fewest. */
class BalancedFanoutTest {
    @TempDir
    Path dir;

    private Path run(int gateways, int connections, double p99, double entriesPerEntry, long gatewayRssPerConnection, boolean complete) throws Exception {
        Path f = dir.resolve("fanout-lb-" + gateways + "g-" + connections + "c.json");
        Files.writeString(f, """
                {"complete": %s, "connectionsRequested": %d, "connectionsStreaming": %d, "latencyMs": {"p50": 1.0, "p99": %s},
                 "deliveriesPerSec": 4000.0, "serverCpuSecondsPer100kDeliveries": 3.0, "loadAverage": "1.0 1.0 1.0",
                 "redisReads": {"gateways": %d, "entriesReadPerPublishedEntry": %s, "redisReadCallsPerPublishedEntry": 0.5},
                 "serverRssByProcess": [
                   {"process": "11 java", "rssPerIdleConnectionBytes": %d},
                   {"process": "12 java", "rssPerIdleConnectionBytes": %d},
                   {"process": "13 haproxy", "rssPerIdleConnectionBytes": 900},
                   {"process": "14 redis-server", "rssPerIdleConnectionBytes": 5}]}
                """.formatted(complete, connections, connections, p99, gateways, entriesPerEntry, gatewayRssPerConnection / 2, gatewayRssPerConnection / 2));
        return f;
    }

    @Test
    @SuppressWarnings("unchecked")
    void eachRunIsARowAndTheMostGatewaysAreComparedWithTheFewestAtEachLoad() throws Exception {
        Map<String, Object> s = BalancedFanout.summary(List.of(run(1, 3000, 20.0, 1.0, 30_000, true), run(3, 3000, 30.0, 1.02, 60_000, true),
                run(3, 5000, 40.0, 1.0, 60_000, true)));

        assertThat(s.get("complete")).isEqualTo(true);
        List<Map<String, Object>> runs = (List<Map<String, Object>>) s.get("runs");
        assertThat(runs.get(1)).containsEntry("gateways", 3).containsEntry("p99Ms", 30.0).containsEntry("entriesReadPerPublishedEntry", 1.02)
                .containsEntry("gatewaysRssPerIdleConnectionBytes", 60_000L).containsEntry("haproxyRssPerIdleConnectionBytes", 900L);
        List<Map<String, Object>> ratios = (List<Map<String, Object>>) s.get("ratios");
        assertThat(ratios).as("5,000 connections ran on one set of gateways only: nothing to compare").hasSize(1);
        assertThat(ratios.get(0)).containsEntry("connections", 3000).containsEntry("of", "3 gateways / 1").containsEntry("p99Ms", 1.5)
                .containsEntry("entriesReadPerPublishedEntry", 1.02).containsEntry("gatewaysRssPerIdleConnectionBytes", 2.0);
    }

    @Test
    @SuppressWarnings("unchecked")
    void memoryPerConnectionCountsFromTheProcessAsStartedWhenThatIsKnown() throws Exception {
        Path f = run(1, 3000, 20.0, 1.0, 30_000, true);
        Files.writeString(f, Files.readString(f).replace("\"process\": \"11 java\",", "\"process\": \"11 java\", \"rssFreshBytes\": 100000000, \"rssIdleBytes\": 190000000,"));

        Map<String, Object> row = ((List<Map<String, Object>>) BalancedFanout.summary(List.of(f)).get("runs")).get(0);

        assertThat(row).as("(190 MB - 100 MB) / 3,000 for the first gateway, 15,000 from the client for the second")
                .containsEntry("gatewaysRssPerIdleConnectionBytes", 30_000L + 15_000L);
    }

    @Test
    void oneIncompleteRunMakesTheSummaryIncomplete() throws Exception {
        assertThat(BalancedFanout.summary(List.of(run(1, 3000, 20.0, 1.0, 30_000, true), run(3, 3000, 30.0, 1.0, 60_000, false))).get("complete"))
                .isEqualTo(false);
    }

    @Test
    void eachMeasuredRunHasCompaniesOfItsOwnEvenAtARepeatedConnectionCount() {
        // --connections 3000,8000,3000: a run on the companies of an earlier one deletes streams the gateways still tail
        List<String> prefixes = List.of(BalancedFanout.companyPrefix(1, 3000), BalancedFanout.companyPrefix(2, 8000),
                BalancedFanout.companyPrefix(3, 3000));

        assertThat(prefixes).doesNotHaveDuplicates().noneMatch(p -> p.startsWith("fanwarm"));
        for (String p : prefixes) {
            assertThat(io.csr.common.contract.RedisStreams.updatesKey("csrbench:", p + 49)).as("a valid company id").endsWith(p + "49}");
            // no company of one run is a company of another (prefix + index): "fan1_3000c_1" + "0" vs "fan1_3000c_10"
            assertThat(p).matches("[a-z]+[0-9]+_[0-9]+c_");
        }
    }

    @Test
    void theOpenStreamsAreTheUnlabelledGaugeNotItsCounterNorThePerCompanySeries() {
        String metrics = """
                # HELP csr_stream_connections_total SSE connections accepted.
                csr_stream_connections_total 11000.0
                csr_stream_company_connections{company="fan1_3000c_0"} 60.0
                # HELP csr_stream_connections Open SSE connections on this node.
                csr_stream_connections 2940.0
                """;

        assertThat(BalancedFanout.gauge(metrics, BalancedFanout.OPEN_STREAMS)).isEqualTo(2940);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> BalancedFanout.gauge("up 1\n", BalancedFanout.OPEN_STREAMS))
                .hasMessageContaining("no csr_stream_connections");
    }
}
