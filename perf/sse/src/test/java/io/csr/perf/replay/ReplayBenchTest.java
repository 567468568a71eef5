package io.csr.perf.replay;

import io.csr.common.cli.Cli;
import io.csr.common.cli.CliContract;
import io.csr.perf.sse.Target;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class ReplayBenchTest {
    private static ReplayBench.Resume complete(double catchUpMs) {
        return new ReplayBench.Resume(2.0, catchUpMs, 1_000, 1_000, 0, 0, false);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> lost(Map<String, Object> row) {
        return (Map<String, Object>) row.get("lost");
    }

    @Test
    void aResumeThatLostPartOfTheBacklogMakesTheResultIncompleteAndDoesNotSpeedItUp() {
        // a server that delivered 400 of 1,000 missed events in 50 ms must not look faster than one that sent all in 400
        ReplayBench.Resume partial = new ReplayBench.Resume(1.0, null, 400, 1_000, 0, 0, false);

        Map<String, Object> row = ReplayBench.summary("nchan", 1_000, List.of(complete(400), partial, complete(420)));

        assertThat(row.get("complete")).isEqualTo(false);
        assertThat(lost(row)).containsEntry("incompleteResumes", 2 - 1).containsEntry("eventsNotReceived", 600L);
        assertThat(row.get("catchUpMedianMs")).as("from the complete resumes only").isEqualTo(420.0);
        assertThat(row.get("replayEventsPerSec")).isEqualTo(Math.round(1_000 / 0.42));
        assertThat(row.get("allCaughtUp")).isEqualTo(false);
    }

    @Test
    void nothingReceivedGivesNoTimesAtAllRatherThanNegativeOnes() {
        ReplayBench.Resume nothing = new ReplayBench.Resume(null, null, 0, 1_000, 0, 0, false);

        Map<String, Object> row = ReplayBench.summary("ours", 1_000, List.of(nothing));

        assertThat(row.get("complete")).isEqualTo(false);
        assertThat(row.get("firstEventMedianMs")).isNull();
        assertThat(row.get("catchUpMedianMs")).isNull();
        assertThat(row.get("replayEventsPerSec")).isNull();
        assertThat(lost(row)).containsEntry("eventsNotReceived", 1_000L);
    }

    @Test
    void everyMissedEventOnceInOrderIsComplete() {
        Map<String, Object> row = ReplayBench.summary("ours", 1_000, List.of(complete(300), complete(200), complete(250)));

        assertThat(row.get("complete")).isEqualTo(true);
        assertThat(row.get("catchUpMedianMs")).isEqualTo(250.0);
        assertThat(row.get("timestamp")).isNotNull();
    }

    @Test
    void theDriversArgumentsParseAndATypoIsOneUsageLine() {
        ReplayBench.Options c = new ReplayBench.Options();
        Cli.commandLine(c).parseArgs("--target", "nchan", "--missed", "5", "--repeats", "2", "--out", "r.json",
                "--url", "http://127.0.0.1:18090/sub", "--publish-url", "http://127.0.0.1:18090/pub");
        assertThat(List.<Object>of(c.target, c.missed, c.repeats, c.out, c.url, c.publishUrl, c.timeoutSeconds)).containsExactly(
                Target.NCHAN, 5, 2, Path.of("r.json"), URI.create("http://127.0.0.1:18090/sub"), "http://127.0.0.1:18090/pub", 60);

        assertThat(CliContract.usageLine(() -> Cli.commandLine(new ReplayBench.Options()), List.of("--missed", "many")))
                .startsWith("error [replay-client]: ").contains("'many'");
    }
}
