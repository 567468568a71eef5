package io.csr.gateway.stream;

import org.junit.jupiter.api.Test;
import redis.clients.jedis.StreamEntryID;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** A live session's writes by the tail reader ({@link SseSession#deliverNow}), on a socket of its own that records them. */
class SseSessionTest {
    /** The socket under the body: what each non-blocking write carried, one string per write. */
    private static final class RecordingSink implements DirectSink {
        final List<String> writes = new ArrayList<>();
        final CountDownLatch lent = new CountDownLatch(1);

        @Override
        public void nonBlocking(boolean on) {
            if (on) {
                lent.countDown();
            }
        }

        @Override
        public long tryWrite(ByteBuffer[] buffers) {
            StringBuilder b = new StringBuilder();
            long n = 0;
            for (ByteBuffer buf : buffers) {
                n += buf.remaining();
                b.append(StandardCharsets.UTF_8.decode(buf));
            }
            writes.add(b.toString());
            return n;
        }

        @Override
        public long tryWrite(ByteBuffer buffer) {
            return tryWrite(new ByteBuffer[] {buffer});
        }
    }

    /** A body with that socket under it; what the session's own thread writes goes to {@code own}. */
    private static final class Body extends OutputStream implements FrameBody {
        final RecordingSink sink = new RecordingSink();
        final ByteArrayOutputStream own = new ByteArrayOutputStream();

        @Override
        public void write(int b) {
            own.write(b);
        }

        @Override
        public void writeFrame(Update update) throws IOException {
            write(update.frame());
        }

        @Override
        public DirectSink directSink() {
            return sink;
        }
    }

    private static Update update(long ms, long seq) {
        StreamEntryID id = new StreamEntryID(ms, seq);
        return new Update("acme", id, ("id: " + id + "\n\n").getBytes(StandardCharsets.UTF_8)).withHttpChunk();
    }

    private static String chunk(long ms, long seq) {
        return new String(update(ms, seq).httpChunk(), StandardCharsets.UTF_8);
    }

    @Test
    void theReaderWritesEachLiveEventOnceInOrderAndNeverOneAtOrBelowTheLastWritten() throws Exception {
        Body body = new Body();
        Thread[] writer = new Thread[1];
        CountDownLatch ended = new CountDownLatch(1);
        Subscriber sub = new Subscriber("acme", 100, null);
        SseSession session = new SseSession(null, new StreamMetrics(), sub, null, Instant.now().plusSeconds(3600),
                Duration.ofHours(1), Duration.ofHours(1), Clock.systemUTC());
        writer[0] = Thread.ofVirtual().start(() -> {
            try {
                session.run(body);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            } finally {
                ended.countDown();
            }
        });
        assertThat(body.sink.lent.await(10, TimeUnit.SECONDS)).as("the live writer lends its socket").isTrue();

        assertThat(sub.offerAll(List.of(update(5, 0)))).isTrue();
        assertThat(sub.offerAll(List.of(update(5, 0), update(5, 1), update(6, 0)))).isTrue();
        assertThat(sub.offerAll(List.of(update(4, 9)))).isTrue();
        assertThat(sub.offerAll(List.of(update(6, 0)))).isTrue();
        assertThat(sub.offerAll(List.of(update(7, 0)))).isTrue();

        assertThat(body.sink.writes).as("one write per batch, the events above the last written only").containsExactly(
                chunk(5, 0),
                chunk(5, 1) + chunk(6, 0),
                chunk(7, 0));
        sub.close("shutdown", false);
        assertThat(ended.await(10, TimeUnit.SECONDS)).isTrue();
    }
}
