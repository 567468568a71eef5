package io.csr.perf.replay;

import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.contract.MetricUpdate;
import io.csr.common.json.Json;
import io.csr.perf.sse.DevToken;
import io.csr.perf.sse.SseBench;
import io.csr.perf.sse.SseFrameParser;
import io.csr.perf.sse.Target;

import java.io.IOException;
import java.io.InputStream;
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

    /** What one resume saw. */
    record Resume(double reconnectToFirstMs, double catchUpMs, long received, long gaps, long repeats, boolean reset) {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            a.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        Target target = Target.parse(a.getOrDefault("target", "ours"));
        URI url = URI.create(a.getOrDefault("url", "http://127.0.0.1:18080/stream/updates"));
        int missed = Integer.parseInt(a.getOrDefault("missed", "10000"));
        int repeats = Integer.parseInt(a.getOrDefault("repeats", "3"));
        int timeoutSeconds = Integer.parseInt(a.getOrDefault("timeout-seconds", "60"));
        CsrConfig config = CsrConfig.fromEnvironment();
        List<Resume> resumes = new ArrayList<>();
        try (Target.Publisher publisher = target.publisher(a.get("publish-url"), config.get(ConfigKey.REDIS_URL),
                config.get(ConfigKey.REDIS_KEY_PREFIX))) {
            for (int r = 0; r < repeats; r++) {
                String company = "replay" + Long.toString(System.currentTimeMillis() % 1_000_000_000L, 36) + "n" + r;
                Resume res = once(target, url, publisher, company, missed, timeoutSeconds);
                System.out.printf(Locale.ROOT, "    %s resume %d: first event after %.1f ms, caught up (%,d events) after %.1f ms, gaps %d, repeats %d%s%n",
                        target.label(), r + 1, res.reconnectToFirstMs(), res.received(), res.catchUpMs(), res.gaps(), res.repeats(),
                        res.reset() ? ", RESET" : "");
                resumes.add(res);
            }
        }
        List<Double> catchUp = resumes.stream().map(Resume::catchUpMs).sorted().toList();
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("server", target.label());
        row.put("missed", missed);
        row.put("repeats", repeats);
        row.put("catchUpMedianMs", catchUp.get(catchUp.size() / 2));
        row.put("catchUpMaxMs", catchUp.get(catchUp.size() - 1));
        row.put("firstEventMedianMs", resumes.stream().map(Resume::reconnectToFirstMs).sorted().toList().get(resumes.size() / 2));
        row.put("replayEventsPerSec", Math.round(missed / (catchUp.get(catchUp.size() / 2) / 1000.0)));
        row.put("allCaughtUp", resumes.stream().allMatch(x -> x.received() >= missed));
        row.put("gaps", resumes.stream().mapToLong(Resume::gaps).sum());
        row.put("repeatsSeen", resumes.stream().mapToLong(Resume::repeats).sum());
        row.put("resets", resumes.stream().filter(Resume::reset).count());
        row.put("loadAverage", SseBench.loadAverage());
        Path out = Path.of(a.getOrDefault("out", "perf/results/replay-" + target.label() + ".json"));
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(row) + "\n");
        System.exit(0);
    }

    private static Resume once(Target target, URI url, Target.Publisher publisher, String company, int missed,
                               int timeoutSeconds) throws Exception {
        // 1. connected, one event seen: remember its id
        Client first = new Client(target, url, company, null);
        first.awaitStatus();
        publish(publisher, company, 0);
        String lastId = first.awaitEvents(1, timeoutSeconds).lastId;
        first.close();
        // 2. away: the missed events
        for (long seq = 1; seq <= missed; seq++) {
            publish(publisher, company, seq);
        }
        // 3. back with Last-Event-ID: time until the last missed one arrived
        long start = System.nanoTime();
        Client back = new Client(target, url, company, lastId);
        back.awaitEvents(missed, timeoutSeconds);
        back.close();
        return new Resume((back.firstAtNanos - start) / 1e6, (back.lastAtNanos - start) / 1e6, back.received,
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
            Thread.ofPlatform().daemon(true).name("replay-" + company).start(() -> {
                byte[] buf = new byte[64 * 1024];
                try (InputStream in = socket.getInputStream()) {
                    int n;
                    while ((n = in.read(buf)) > 0) {
                        parser.feed(buf, 0, n);
                    }
                } catch (IOException closed) {
                    // closed by us
                }
            });
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
