package io.csr.job.journey;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;
import io.csr.job.model.CsrEvent;
import io.csr.job.model.EventKind;
import io.csr.job.model.RedisUpdate;
import io.csr.job.rows.UpdateVersion;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class JourneyTrackerTest {
    private static final long T = Instant.parse("2026-11-27T10:15:30Z").toEpochMilli();

    private KeyedOneInputStreamOperatorTestHarness<String, CsrEvent, RedisUpdate> harness;

    @BeforeEach
    void setUp() throws Exception {
        harness = ProcessFunctionTestHarnesses.forKeyedProcessFunction(new JourneyTracker(), JourneyTracker::key, Types.STRING);
    }

    @AfterEach
    void tearDown() throws Exception {
        harness.close();
    }

    private void send(String company, String flag, String user, boolean value, long occurredAtMs) throws Exception {
        CsrEvent e = new CsrEvent();
        e.kind = EventKind.JOURNEY;
        e.eventId = company + flag + user + occurredAtMs;
        e.companyId = company;
        e.name = flag;
        e.userId = user;
        e.flag = value;
        e.occurredAtMs = occurredAtMs;
        harness.processElement(e, occurredAtMs);
    }

    private List<JsonNode> updates() throws Exception {
        List<JsonNode> out = new java.util.ArrayList<>();
        for (RedisUpdate u : harness.extractOutputValues()) {
            assertThat(u.type).isEqualTo("journey_flag_updated");
            JsonNode data = Json.mapper().readTree(u.json);
            assertThat(data.get("companyId").asText()).isEqualTo(u.companyId);
            out.add(data);
        }
        return out;
    }

    @Test
    void countsUsersWithTheFlagSetAndEmitsOnlyOnChange() throws Exception {
        send("acme", "onboarded", "u1", true, T);
        send("acme", "onboarded", "u2", true, T + 1);
        send("acme", "onboarded", "u1", true, T + 2);   // already set: no change
        send("acme", "onboarded", "u3", false, T + 3);  // never set: no change
        send("acme", "onboarded", "u1", false, T + 4);

        List<JsonNode> updates = updates();
        assertThat(updates).extracting(d -> d.get("userId").asText() + ":" + d.get("value").asBoolean() + ":"
                + d.get("usersFlagged").asLong() + ":v" + UpdateVersion.major(d.get("version").asLong()))
                .containsExactly("u1:true:1:v1", "u2:true:2:v2", "u1:false:1:v3");
        JsonNode first = updates.get(0);
        assertThat(first.get("flag").asText()).isEqualTo("onboarded");
        assertThat(first.get("occurredAt").asText()).isEqualTo("2026-11-27T10:15:30Z");
    }

    @Test
    void olderEventOfAUserIsIgnored() throws Exception {
        send("acme", "mentor", "u1", true, T + 10);
        send("acme", "mentor", "u1", false, T);  // delivered late, happened before: must not clear the flag
        assertThat(updates()).extracting(d -> d.get("usersFlagged").asLong()).containsExactly(1L);
    }

    @Test
    void clearedFlagAtEpochZeroStillOrdersCorrectly() throws Exception {
        send("acme", "mentor", "u1", false, 0);
        send("acme", "mentor", "u1", true, 0);
        assertThat(updates()).extracting(d -> d.get("usersFlagged").asLong()).containsExactly(1L);
    }

    @Test
    void companiesAndFlagsAreCountedSeparately() throws Exception {
        send("acme", "onboarded", "u1", true, T);
        send("globex", "onboarded", "u1", true, T);
        send("acme", "mentor", "u1", true, T);
        assertThat(updates()).extracting(d -> d.get("usersFlagged").asLong()).containsExactly(1L, 1L, 1L);
    }

    @Test
    void versionsContinueFromTheCheckpointAndAReplayNeverRepeatsOneWithAnotherValue() throws Exception {
        send("acme", "onboarded", "u1", true, T);
        var snapshot = harness.snapshot(1, 1);
        harness.setProcessingTime(5_000);
        send("acme", "onboarded", "u2", true, T + 1);
        List<JsonNode> died = updates();
        assertThat(died).extracting(d -> d.get("usersFlagged").asLong() + ":v" + UpdateVersion.major(d.get("version").asLong()))
                .containsExactly("1:v1", "2:v2");
        long diedAt2 = died.get(1).get("version").asLong();
        harness.close();

        harness = new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(new JourneyTracker()),
                JourneyTracker::key, Types.STRING);
        harness.initializeState(snapshot);
        harness.open();
        harness.setProcessingTime(9_000);                 // the restored run: later than anything the dead one published
        send("acme", "onboarded", "u1", false, T + 3);    // the replay meets another event first: update 2 is another count
        send("acme", "onboarded", "u2", true, T + 1);
        List<JsonNode> replayed = updates();
        assertThat(replayed).extracting(d -> d.get("usersFlagged").asLong() + ":v" + UpdateVersion.major(d.get("version").asLong()))
                .containsExactly("0:v2", "1:v3");
        assertThat(replayed.get(0).get("version").asLong()).as("update 2 with another count: another, higher version")
                .isGreaterThan(diedAt2);
    }
}
