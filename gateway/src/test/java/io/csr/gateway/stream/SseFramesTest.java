package io.csr.gateway.stream;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** The reconnect delays a stream is told: jittered, so the clients of one gateway never come back in the same second. */
class SseFramesTest {
    private static final Pattern RETRY = Pattern.compile("^retry: (\\d+)\n");

    private static int retryOf(byte[] frame) {
        Matcher m = RETRY.matcher(new String(frame, StandardCharsets.UTF_8));
        assertThat(m.find()).as("a retry line first: %s", new String(frame, StandardCharsets.UTF_8)).isTrue();
        return Integer.parseInt(m.group(1));
    }

    @Test
    void everyStreamsRetryIsThreeSecondsJitteredByHalfAndTheyDiffer() {
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 1_000; i++) {
            byte[] frame = SseFrames.retry();
            assertThat(new String(frame, StandardCharsets.UTF_8)).endsWith("\n\n");
            int ms = retryOf(frame);
            assertThat(ms).isBetween(SseFrames.RETRY_MILLIS / 2, SseFrames.RETRY_MILLIS * 3 / 2);
            seen.add(ms);
        }
        // 1,000 draws over 3,001 values: all alike would be a fixed retry
        assertThat(seen).as("distinct retry values").hasSizeGreaterThan(500);
    }

    @Test
    void aShutdownCloseCarriesAJitteredRetryOfItsOwnOtherClosesNone() {
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            String frame = new String(SseFrames.close("shutdown"), StandardCharsets.UTF_8);
            assertThat(frame).contains("event: close\n", "\"reason\":\"shutdown\"").endsWith("\n\n");
            int ms = retryOf(frame.getBytes(StandardCharsets.UTF_8));
            assertThat(ms).isBetween(SseFrames.DRAIN_RETRY_MIN_MILLIS, SseFrames.DRAIN_RETRY_MAX_MILLIS);
            seen.add(ms);
        }
        assertThat(seen).hasSizeGreaterThan(100);
        assertThat(new String(SseFrames.close("token_expired"), StandardCharsets.UTF_8)).startsWith("event: close\n").doesNotContain("retry");
    }
}
