package io.csr.gateway.stream;

import io.csr.gateway.SseTestClient;
import io.csr.gateway.SseTestClient.Frame;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.resps.StreamEntry;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * What an SSE client of a company must have seen across a Redis failover (Redis Cluster or Sentinel), against
 * {@code held}, the company's stream as the new master holds it: the failover ITCases share these checks.
 */
final class FailoverChecks {
    private static final Duration WAIT = Duration.ofSeconds(60);

    private FailoverChecks() {
    }

    /**
     * Once {@code c} has the last entry of {@code key} as {@code writer} reads it now (the new master):
     * {@link #noRepeatNoGap} against that stream.
     */
    static void caughtUpNoRepeatNoGap(String company, SseTestClient c, UnifiedJedis writer, String key, int failovers) {
        List<StreamEntry> held = writer.xrange(key, (StreamEntryID) null, (StreamEntryID) null);
        String last = held.get(held.size() - 1).getID().toString();
        await().atMost(WAIT).until(() -> c.updateIds().contains(last));
        noRepeatNoGap(company, c, held, failovers);
    }

    /**
     * A client {@code r} resumed from {@code resumeFrom} (an id of before the failovers), once it has the last entry of
     * {@code key} or a reset: {@link #resumedExactlyOrReset} against that stream.
     */
    static void resumesExactlyOrReset(SseTestClient r, UnifiedJedis writer, String key, String resumeFrom) {
        List<StreamEntry> held = writer.xrange(key, (StreamEntryID) null, (StreamEntryID) null);
        String last = held.get(held.size() - 1).getID().toString();
        await().atMost(WAIT).until(() -> r.updateIds().contains(last) || r.events().stream().anyMatch(f -> "reset".equals(f.event())));
        resumedExactlyOrReset(r, held, resumeFrom);
    }

    /**
     * At most one reset per failover ({@code failovers}: each may lose entries the client got); ids strictly
     * increasing (no frame twice); every held entry after the first delivered one was delivered (no gap); and a client
     * that got entries a failover lost was reset.
     */
    static void noRepeatNoGap(String company, SseTestClient c, List<StreamEntry> held, int failovers) {
        List<Frame> events = c.events();
        long resets = events.stream().filter(f -> "reset".equals(f.event())).count();
        assertThat(resets).as("%s: resets", company).isLessThanOrEqualTo(failovers);
        List<StreamEntryID> ids = new ArrayList<>();
        for (Frame f : events) {
            if (f.id() != null && !f.id().isEmpty()) {
                ids.add(StreamIds.parse(f.id()).orElseThrow());
            }
        }
        for (int i = 1; i < ids.size(); i++) {
            assertThat(ids.get(i)).as("%s: frame %d after %s (no id twice, in order)", company, i, ids.get(i - 1))
                    .isGreaterThan(ids.get(i - 1));
        }
        Set<StreamEntryID> delivered = new HashSet<>(ids);
        List<StreamEntryID> missing = held.stream().map(StreamEntry::getID)
                .filter(id -> id.compareTo(ids.get(0)) > 0 && !delivered.contains(id)).toList();
        assertThat(missing).as("%s: entries the new master holds but the client never got", company).isEmpty();
        Set<StreamEntryID> heldIds = new HashSet<>(held.stream().map(StreamEntry::getID).toList());
        List<StreamEntryID> lost = ids.stream().filter(id -> !heldIds.contains(id)).toList();
        if (!lost.isEmpty()) {
            assertThat(resets).as("%s: the client got %d entries the failover lost (%s…), so it must have been reset",
                    company, lost.size(), lost.get(0)).isPositive();
        }
    }

    /**
     * A client resumed from {@code resumeFrom} (an id of before the failover), once it has the last held entry or a
     * reset: exactly the held entries after that id, or one reset first.
     */
    static void resumedExactlyOrReset(SseTestClient r, List<StreamEntry> held, String resumeFrom) {
        if (r.events().get(0).event().equals("reset")) {
            assertThat(r.events().stream().filter(f -> "reset".equals(f.event()))).hasSize(1);
        } else {
            StreamEntryID from = StreamIds.parse(resumeFrom).orElseThrow();
            assertThat(r.updateIds()).containsExactlyElementsOf(held.stream().map(StreamEntry::getID)
                    .filter(id -> id.compareTo(from) > 0).map(Object::toString).toList());
        }
    }
}
