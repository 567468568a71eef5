package io.csr.perf.soak;

import org.junit.jupiter.api.Test;

import java.net.URI;

import static org.assertj.core.api.Assertions.assertThat;

/** The soak's dashboard client judges frames as csr-stream.js applies them: one version, one value. */
class SseClientTest {
    private final SseClient client = new SseClient("t", "acme", SseClient.Behaviour.NORMAL, URI.create("http://127.0.0.1:1"), 1);

    private static String window(long version, long count, double sum) {
        return "{\"metric\":\"sroi\",\"window\":\"1h\",\"windowStart\":\"2026-12-06T21:00:00Z\",\"count\":" + count
                + ",\"sum\":" + sum + ",\"version\":" + version + ",\"final\":false}";
    }

    @Test
    void olderAndRepeatedVersionsAreDroppedWithoutAViolation() {
        client.onFrame("1-0", "sroi_updated", window(60, 30, 1210));
        client.onFrame("2-0", "sroi_updated", window(40, 20, 210));   // a restore's replay of an older version
        client.onFrame("3-0", "sroi_updated", window(60, 30, 1210));  // the same version, the same value
        assertThat(client.staleFrames()).isEqualTo(2);
        assertThat(client.violations()).isEmpty();
        assertThat(client.versionConflictCount()).isZero();
    }

    @Test
    void aVersionShownAgainWithOtherValuesIsAViolation() {
        client.onFrame("1-0", "sroi_updated", window(60, 30, 1210));
        client.onFrame("2-0", "sroi_updated", window(60, 30, 280));
        assertThat(client.versionConflictCount()).isEqualTo(1);
        assertThat(client.violations()).singleElement().asString()
                .contains("version 60 shown with count 30 sum 1210.0").contains("count 30 sum 280.0");
    }

    @Test
    void aJourneyVersionShownAgainWithAnotherUsersFlaggedIsAViolation() {
        client.onFrame("1-0", "journey_flag_updated", "{\"flag\":\"onboarded\",\"usersFlagged\":2,\"version\":5}");
        client.onFrame("2-0", "journey_flag_updated", "{\"flag\":\"onboarded\",\"usersFlagged\":0,\"version\":5}");
        assertThat(client.violations()).hasSize(1);
    }
}
