package io.csr.job.source;

import io.csr.job.model.RawMessage;
import io.csr.job.testing.TestClusters;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.synadia.flink.source.split.JetStreamSplit;
import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.core.io.InputStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The job's JetStream reader across a NATS server crash (kill -9 and restart, JetStream file store kept), found by
 * {@code csr soak} (issue 26): the connector's connection does not reconnect, and the pull that was waiting when the
 * server died neither finished nor failed — the job ran, checkpointed and read nothing until it was restarted by hand.
 * The reader must fail instead (Flink restarts the task from its checkpoint), and a reader restored from that
 * checkpoint reads on: every message once, in order. Runs a nats-server of its own (own port and store), never the
 * shared one. The kill comes while the reader is in the middle of a pull, waiting for the job to take more (as under
 * load): without the fix it then reads the rest of that pull and waits for ever.
 */
class JetStreamReaderNatsRestartITCase {
    private static final String STREAM = "RESTART_IT";

    @Test
    void readsOnAfterTheServerWasKilledAndRestarted(@TempDir Path dir) throws Exception {
        int port = TestClusters.freePort();
        String url = "nats://127.0.0.1:" + port;
        Process server = startServer(port, dir);
        try (Connection nc = Nats.connect(Options.builder().server(url).maxReconnects(-1).reconnectWait(Duration.ofMillis(100)).build())) {
            nc.jetStreamManagement().addStream(StreamConfiguration.builder().name(STREAM).storageType(StorageType.File)
                    .subjects("metrics.>").build());
            JetStream js = nc.jetStream();
            EventSourceBuilder builder = new EventSourceBuilder().natsUrl(url).streamName(STREAM).batchSize(50)
                    .families(List.of("metrics"));
            List<JetStreamSplit> splits = new ArrayList<>();
            builder.connectorSource().configById.values().forEach(c -> splits.add(new JetStreamSplit(c)));
            List<Long> sequences = new ArrayList<>();
            List<JetStreamSplit> snapshot;
            long checkpointed;
            try (SourceReader<RawMessage, JetStreamSplit> reader = builder.build().createReader(null)) {
                reader.start();
                reader.addSplits(splits);
                for (int i = 0; i < 100; i++) {
                    js.publish("metrics.sroi", ("{\"n\":" + i + "}").getBytes(StandardCharsets.UTF_8));
                }
                // the job takes 40: the fetcher holds a full queue and waits, in the middle of a pull, to hand on more
                drain(reader, sequences, 40);
                snapshot = reader.snapshotState(1); // the last checkpoint before the crash (Flink serializes it now:
                checkpointed = snapshot.get(0).lastEmittedStreamSequence.get(); // the split object itself moves on)

                server.destroyForcibly().waitFor(30, TimeUnit.SECONDS); // kill -9 while that pull is open
                server = startServer(port, dir);
                // the reader must fail (Flink then restarts the task from its checkpoint), never wait for ever
                assertThatThrownBy(() -> drain(reader, sequences, 200)).as("the reader fails within 30 s of the server's restart")
                        .isInstanceOf(IllegalStateException.class).hasMessageContaining("reading JetStream failed");
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> nc.getStatus() == Connection.Status.CONNECTED);
            for (int i = 100; i < 200; i++) {
                js.publish("metrics.sroi", ("{\"n\":" + i + "}").getBytes(StandardCharsets.UTF_8));
            }
            // the failover: what was emitted after the checkpoint is discarded (Flink replays from it), and a new reader
            // from the checkpoint's splits reads on, nothing twice, nothing skipped
            assertThat(checkpointed).isEqualTo(40);
            sequences.subList(40, sequences.size()).clear();
            snapshot.get(0).lastEmittedStreamSequence.set(checkpointed);
            try (SourceReader<RawMessage, JetStreamSplit> reader = builder.build().createReader(null)) {
                reader.addSplits(new ArrayList<>(snapshot));
                reader.start();
                drain(reader, sequences, 200);
            }
            assertThat(sequences).hasSize(200);
            for (int i = 0; i < 200; i++) {
                assertThat(sequences.get(i)).as("message %d", i).isEqualTo(i + 1L);
            }
        } finally {
            server.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
    }

    private static Process startServer(int port, Path dir) throws Exception {
        Process p = new ProcessBuilder("nats-server", "-a", "127.0.0.1", "-p", Integer.toString(port), "-js", "-sd", dir.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("nats.log").toFile())).start();
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            try (Socket s = new Socket("127.0.0.1", port)) {
                return true;
            } catch (java.io.IOException e) {
                return false;
            }
        });
        return p;
    }

    /**
     * Polls as Flink's source task does: after {@code NOTHING_AVAILABLE} it polls again only once {@code isAvailable()}
     * completes. A reader whose future then never completes leaves its task waiting for ever, checkpointing on and
     * reading nothing; here that fails after 30 s.
     */
    private static void drain(SourceReader<RawMessage, JetStreamSplit> reader, List<Long> sequences, int upTo) throws Exception {
        ReaderOutput<RawMessage> out = new ReaderOutputs.Collect(sequences);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (sequences.size() < upTo) {
            if (reader.pollNext(out) == InputStatus.NOTHING_AVAILABLE && sequences.size() < upTo) {
                try {
                    reader.isAvailable().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (TimeoutException e) {
                    throw new AssertionError(upTo + " messages within 30 s (have " + sequences.size() + "): the reader "
                            + "said nothing was available and never became available again");
                }
            }
        }
    }
}
