package io.csr.perf.replay;

import io.csr.common.cli.Cli;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.contract.MetricUpdate;
import io.csr.common.json.Json;
import io.csr.perf.sse.DevToken;
import io.csr.perf.sse.SseBench;
import io.csr.perf.sse.SseFrameParser;
import io.csr.perf.sse.Target;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Resume after a gap, ours vs a peer: a client receives one event and disconnects; {@code --missed} events are
 * published while it is away (same payload and publish path as the fan-out benchmark); it reconnects with
 * {@code Last-Event-ID} and the clock runs from the reconnect until the last missed event arrived. Each missed event
 * must arrive exactly once and in order (gaps and repeats are counted). Repeated {@code --repeats} times on a fresh
 * company each, so one run's history does not help the next.
 * <pre>
 * ReplayBench --target ours|nchan --url SUBSCRIBE_BASE [--publish-url URL] --missed 10000 --repeats 3 --out FILE
 * </pre>
 */
public final class ReplayBench {
    private ReplayBench() {
    }

    /**
     * What one resume saw. {@code received} counts distinct events in order only. The times are null when they do not
     * exist: no first event (nothing arrived), no catch-up (not every missed event arrived before the timeout).
     */
    record Resume(Double reconnectToFirstMs, Double catchUpMs, long received, long missed, long gaps, long repeats, boolean reset) {
        boolean complete() {
            return received == missed && gaps == 0 && !reset;
        }
    }

    public static void main(String[] args) {
        System.exit(Cli.run(new Options(), args));
    }

    /** The client's command line, on the CLI contract (io.csr.common.cli.Cli); exit 3 when a resume was incomplete. */
    @Command(name = "replay-client", mixinStandardHelpOptions = true, description = "The replay benchmark's client; bin/csr bench replay runs it.")
    static final class Options implements Callable<Integer> {
        @Option(names = "--target", paramLabel = "T", description = "ours, nchan or pushpin (default: ${DEFAULT-VALUE})")
        Target target = Target.OURS;

        @Option(names = "--url", paramLabel = "URL", description = "the subscribe base (default: ${DEFAULT-VALUE})")
        URI url = URI.create("http://127.0.0.1:18080/stream/updates");

        @Option(names = "--publish-url", paramLabel = "URL", description = "where a peer takes publishes (ours publishes to Redis)")
        String publishUrl;

        @Option(names = "--missed", paramLabel = "N", description = "events the client misses (default: ${DEFAULT-VALUE})")
        int missed = 10_000;

        @Option(names = "--repeats", paramLabel = "N", description = "resumes, each on a fresh company (default: ${DEFAULT-VALUE})")
        int repeats = 3;

        @Option(names = "--timeout-seconds", paramLabel = "S", description = "longest wait for the missed events (default: ${DEFAULT-VALUE})")
        int timeoutSeconds = 60;

        @Option(names = "--out", paramLabel = "FILE", description = "where the JSON goes (default: perf/results/replay-<target>.json)")
        Path out;

        @Override
        public Integer call() throws Exception {
            CsrConfig config = CsrConfig.fromEnvironment();
            List<Resume> resumes = new ArrayList<>();
            try (Target.Publisher publisher = target.publisher(publishUrl, config.get(ConfigKey.REDIS_URL),
                    config.get(ConfigKey.REDIS_KEY_PREFIX))) {
                for (int r = 0; r < repeats; r++) {
                    String company = "replay" + Long.toString(System.currentTimeMillis() % 1_000_000_000L, 36) + "n" + r;
                    Resume res = once(target, url, publisher, company, missed, timeoutSeconds);
                    System.out.printf(Locale.ROOT, "    %s resume %d: first event after %s ms, %,d of %,d events, caught up after %s ms, gaps %d, repeats %d%s%s%n",
                            target.label(), r + 1, res.reconnectToFirstMs(), res.received(), missed, res.catchUpMs(), res.gaps(), res.repeats(),
                            res.reset() ? ", RESET" : "", res.complete() ? "" : " — INCOMPLETE");
                    resumes.add(res);
                }
            }
            Map<String, Object> row = summary(target.label(), missed, resumes);
            Path file = out != null ? out : Path.of("perf/results/replay-" + target.label() + ".json");
            Files.createDirectories(file.toAbsolutePath().getParent());
            Files.writeString(file, Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(row) + "\n");
            boolean complete = (Boolean) row.get("complete");
            if (!complete) {
                System.out.println("INCOMPLETE: " + row.get("lost") + " — the result is marked complete: false");
            }
            return complete ? 0 : 3;
        }
    }

    /**
     * The result row. Times and the replay rate come from complete resumes only (every missed event, in order, once): a
     * server that dropped part of the backlog must not look faster for having less to send. Any incomplete resume
     * makes the row {@code complete: false} and says what was lost.
     */
    static Map<String, Object> summary(String server, int missed, List<Resume> resumes) {
        List<Resume> done = resumes.stream().filter(Resume::complete).toList();
        List<Double> catchUp = done.stream().map(Resume::catchUpMs).sorted().toList();
        List<Double> first = resumes.stream().map(Resume::reconnectToFirstMs).filter(java.util.Objects::nonNull).sorted().toList();
        Map<String, Object> lost = new LinkedHashMap<>();
        lost.put("incompleteResumes", resumes.size() - done.size());
        lost.put("eventsNotReceived", resumes.stream().mapToLong(r -> Math.max(0, r.missed() - r.received())).sum());
        lost.put("gaps", resumes.stream().mapToLong(Resume::gaps).sum());
        lost.put("resets", resumes.stream().filter(Resume::reset).count());
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("server", server);
        row.put("complete", !resumes.isEmpty() && done.size() == resumes.size());
        row.put("lost", lost);
        row.put("timestamp", Instant.now().toString());
        row.put("missed", missed);
        row.put("repeats", resumes.size());
        row.put("catchUpMedianMs", catchUp.isEmpty() ? null : catchUp.get(catchUp.size() / 2));
        row.put("catchUpMaxMs", catchUp.isEmpty() ? null : catchUp.get(catchUp.size() - 1));
        row.put("firstEventMedianMs", first.isEmpty() ? null : first.get(first.size() / 2));
        row.put("replayEventsPerSec", catchUp.isEmpty() ? null : Math.round(missed / (catchUp.get(catchUp.size() / 2) / 1000.0)));
        row.put("allCaughtUp", !resumes.isEmpty() && resumes.stream().allMatch(x -> x.received() >= missed));
        row.put("gaps", resumes.stream().mapToLong(Resume::gaps).sum());
        row.put("repeatsSeen", resumes.stream().mapToLong(Resume::repeats).sum());
        row.put("resets", resumes.stream().filter(Resume::reset).count());
        row.put("loadAverage", SseBench.loadAverage());
        return row;
    }

    private static Resume once(Target target, URI url, Target.Publisher publisher, String company, int missed,
                               int timeoutSeconds) throws Exception {
        // 1. connected, one event seen: remember its id
        Client first = new Client(target, url, company, null);
        first.awaitStatus();
        publish(publisher, company, 0);
        String lastId = first.awaitEvents(1, timeoutSeconds).lastId;
        first.close();
        if (lastId == null) {
            throw new IllegalStateException(target.label() + ": the first event did not arrive within " + timeoutSeconds
                    + " s; nothing to resume from (is the server up? bin/csr status)");
        }
        // 2. away: the missed events
        for (long seq = 1; seq <= missed; seq++) {
            publish(publisher, company, seq);
        }
        // 3. back with Last-Event-ID: time until the last missed one arrived
        long start = System.nanoTime();
        Client back = new Client(target, url, company, lastId);
        back.awaitEvents(missed, timeoutSeconds);
        back.close();
        return new Resume(back.received == 0 ? null : (back.firstAtNanos - start) / 1e6,
                back.received < missed ? null : (back.lastAtNanos - start) / 1e6, back.received, missed,
                back.gaps, back.repeats, back.reset);
    }

    private static void publish(Target.Publisher publisher, String company, long seq) throws Exception {
        String data = Json.mapper().writeValueAsString(new MetricUpdate(company, "replay", "1m", Instant.now().toString(),
                seq, seq, 0, seq, 1, 1, 1, 1, 0, seq, false));
        publisher.publish(company, seq, "metric_updated", data);
    }

    /** One SSE connection on a blocking socket, parsed by the same {@link SseFrameParser} as every other benchmark. */
    private static final class Client implements SseFrameParser.Listener {
        private final Socket socket;
        private final CompletableFuture<Integer> status = new CompletableFuture<>();
        private final SequenceCheck order;
        volatile String lastId;
        volatile long received;
        volatile long gaps;
        volatile long repeats;
        volatile boolean reset;
        volatile long firstAtNanos;
        volatile long lastAtNanos;

        Client(Target target, URI url, String company, String lastEventId) throws IOException {
            order = new SequenceCheck(lastEventId == null ? -1 : 1); // a resume must start right after event 0
            socket = new Socket(url.getHost(), url.getPort());
            socket.setTcpNoDelay(true);
            String req = "GET " + target.subscribePath(url.getRawPath(), company) + " HTTP/1.1\r\nHost: " + url.getHost() + ":"
                    + url.getPort() + "\r\nAccept: text/event-stream\r\n"
                    + (target.needsToken() ? "Authorization: Bearer " + DevToken.forCompany(DevToken.secretFromEnvironment(), company) + "\r\n" : "")
                    + (lastEventId != null ? "Last-Event-ID: " + lastEventId + "\r\n" : "") + "\r\n";
            OutputStream out = socket.getOutputStream();
            out.write(req.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            SseFrameParser parser = new SseFrameParser(this);
            parser.readOnThread(socket, "replay-" + company, 64 * 1024);
        }

        void awaitStatus() throws Exception {
            int s = status.get(30, TimeUnit.SECONDS);
            if (s != 200) {
                throw new IllegalStateException("subscribe answered " + s);
            }
        }

        Client awaitEvents(long n, int timeoutSeconds) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
            while (received < n && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            return this;
        }

        void close() throws IOException {
            socket.close();
        }

        @Override
        public void onStatus(int s) {
            status.complete(s);
        }

        @Override
        public synchronized void onEvent(String id, String event, String data) {
            if ("reset".equals(event)) {
                reset = true;
                return;
            }
            long seq = SseBench.sequenceOf(data);
            if (seq < 0) {
                return;
            }
            long now = System.nanoTime();
            if (received == 0) {
                firstAtNanos = now;
            }
            boolean fresh = order.accept(seq);
            gaps = order.gaps();
            repeats = order.repeats();
            if (!fresh) {
                return;
            }
            lastId = id;
            received++;
            lastAtNanos = now;
        }

        @Override
        public void onComment(String comment) {
        }
    }
}
