package io.csr.perf.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.csr.common.cli.Cli;
import io.csr.common.cli.CommandGroup;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.json.Json;
import io.csr.perf.sse.DevToken;
import io.csr.perf.sse.SseBench;
import io.csr.perf.sse.SseFrameParser;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import org.HdrHistogram.Histogram;

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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * End-to-end latency as a dashboard user feels it: a Contract 1 event published to NATS → through the running job
 * (validation, dedup, windows, Redis writer) → Redis stream → gateway → SSE frame at the client. An event counts as
 * delivered when the first {@code metric_updated} frame of its 1-minute window shows a {@code count} that includes it
 * (frames carry absolute values, so one frame delivers every event up to its count). The frame's id is the Redis
 * stream id, whose millisecond part splits the latency into job (publish → XADD) and gateway (XADD → client).
 * <pre>
 * E2eBench prepare                      # (re)create the benchmark's own JetStream stream, empty
 * E2eBench run --url U --rates 1,1000 --seconds 20 --companies 10 --metrics 4 --out FILE
 * E2eBench cleanup                      # delete the stream
 * </pre>
 * Stream and subjects come from NATS_STREAM and NATS_SUBJECT_PREFIX, the same keys the job reads.
 */
public final class E2eBench {
    private final CsrConfig config;
    private final String stream;
    private final String prefix;

    private E2eBench(CsrConfig config) {
        this.config = config;
        this.stream = config.get(ConfigKey.NATS_STREAM);
        this.prefix = config.get(ConfigKey.NATS_SUBJECT_PREFIX);
    }

    public static void main(String[] args) {
        System.exit(Cli.run(new Client(), args));
    }

    /** The client's command line, on the CLI contract (io.csr.common.cli.Cli): prepare | run [options] | cleanup. */
    @Command(name = "e2e-client", description = "The end-to-end benchmark's client; bin/csr bench e2e runs it.",
            subcommands = Options.class)
    static final class Client extends CommandGroup {
        @Command(name = "prepare", mixinStandardHelpOptions = true, description = "(Re)create the benchmark's own JetStream stream, empty.")
        int prepare() throws Exception {
            new E2eBench(CsrConfig.fromEnvironment()).prepare();
            return 0;
        }

        @Command(name = "cleanup", mixinStandardHelpOptions = true, description = "Delete the benchmark's stream.")
        int cleanup() throws Exception {
            new E2eBench(CsrConfig.fromEnvironment()).cleanup();
            return 0;
        }
    }

    private void prepare() throws Exception {
        if (prefix.isEmpty() || stream.equals(ConfigKey.NATS_STREAM.defaultValue())) {
            throw new IllegalArgumentException("NATS_STREAM=" + stream + " / NATS_SUBJECT_PREFIX='" + prefix
                    + "': the benchmark needs a stream and subject prefix of its own, never the production stream");
        }
        try (Connection nc = Nats.connect(config.get(ConfigKey.NATS_URL))) {
            JetStreamManagement jsm = nc.jetStreamManagement();
            try {
                jsm.deleteStream(stream);
            } catch (JetStreamApiException notThere) {
                // first run
            }
            jsm.addStream(StreamConfiguration.builder().name(stream).storageType(StorageType.File)
                    .subjects(prefix + "metrics.>", prefix + "journey.>", prefix + "q2q.>").build());
            System.out.println("    stream " + stream + " ready (subjects " + prefix + "metrics.> …), empty");
        }
    }

    private void cleanup() throws Exception {
        try (Connection nc = Nats.connect(config.get(ConfigKey.NATS_URL))) {
            nc.jetStreamManagement().deleteStream(stream);
        } catch (JetStreamApiException gone) {
            // already deleted
        }
    }

    private final class Phase {
        final int rate;
        final String run;
        final WindowDeliveries windows = new WindowDeliveries();
        final Histogram total = new Histogram(TimeUnit.SECONDS.toMicros(120), 3);
        final Histogram jobPart = new Histogram(TimeUnit.SECONDS.toMillis(120), 3);
        final Histogram gatewayPart = new Histogram(TimeUnit.SECONDS.toMillis(120), 3);
        final List<Histogram> perSecond = new ArrayList<>();
        final AtomicLong frames = new AtomicLong();
        final AtomicLong deliveredMeasured = new AtomicLong();
        volatile long measureStartNanos;
        volatile long measureStartEpochMs;
        long publishedMeasured;

        Phase(int rate) {
            this.rate = rate;
            this.run = Long.toString(System.currentTimeMillis() % 100_000_000L, 36) + "r" + rate;
        }

        String company(int i) {
            return "e2e" + run + "c" + i;
        }

        synchronized void onFrame(String id, String data) {
            JsonNode n;
            try {
                n = Json.mapper().readTree(data);
            } catch (IOException e) {
                return;
            }
            if (!"1m".equals(n.path("window").asText())) {
                return;
            }
            long now = System.nanoTime();
            long nowMs = System.currentTimeMillis();
            frames.incrementAndGet();
            long xaddMs = -1;
            if (id != null && id.indexOf('-') > 0) {
                xaddMs = Long.parseLong(id.substring(0, id.indexOf('-')));
            }
            for (WindowDeliveries.Published p : windows.frame(n.path("companyId").asText(), n.path("metric").asText(),
                    Instant.parse(n.path("windowStart").asText()).toEpochMilli(), n.path("count").asLong())) {
                long micros = Math.max(0, Math.min((now - p.nanos()) / 1000, total.getHighestTrackableValue()));
                total.recordValue(micros);
                int second = (int) ((now - measureStartNanos) / 1_000_000_000L);
                while (perSecond.size() <= second) {
                    perSecond.add(new Histogram(total.getHighestTrackableValue(), 2));
                }
                perSecond.get(second).recordValue(micros);
                if (xaddMs > 0) {
                    jobPart.recordValue(Math.max(0, Math.min(xaddMs - p.wallMs(), jobPart.getHighestTrackableValue())));
                    gatewayPart.recordValue(Math.max(0, Math.min(nowMs - xaddMs, gatewayPart.getHighestTrackableValue())));
                }
                deliveredMeasured.incrementAndGet();
            }
        }
    }

    private void run(Options o) throws Exception {
        URI url = URI.create(o.url);
        List<Map<String, Object>> rows = new ArrayList<>();
        ObjectNode result = Json.mapper().createObjectNode();
        result.put("scenario", "e2e");
        result.put("timestamp", Instant.now().toString());
        result.put("note", "NATS publish -> job -> Redis -> gateway -> SSE client, all on one machine; load average per row");
        result.put("jobSettings", o.label);
        ArrayNode charts = result.putArray("charts");
        try (Connection nc = Nats.connect(config.get(ConfigKey.NATS_URL))) {
            for (int rate : o.rates) {
                Phase phase = new Phase(rate);
                int companies = rate <= 10 ? 1 : o.companies;
                List<Socket> sockets = subscribe(url, phase, companies);
                long start = System.nanoTime();
                long period = 1_000_000_000L / rate;
                long total = (long) (o.warmupSeconds + o.seconds) * rate;
                boolean measuring = false;
                System.out.printf(Locale.ROOT, "    %d events/s over %d companies x %d metrics, %d s (+%d s warm-up)%n",
                        rate, companies, o.metrics, o.seconds, o.warmupSeconds);
                for (long n = 0; n < total; n++) {
                    long due = start + n * period;
                    long wait = due - System.nanoTime();
                    if (wait > 0) {
                        TimeUnit.NANOSECONDS.sleep(wait);
                    }
                    if (!measuring && n >= (long) o.warmupSeconds * rate) {
                        measuring = true;
                        phase.measureStartNanos = System.nanoTime();
                        phase.measureStartEpochMs = System.currentTimeMillis();
                    }
                    String company = phase.company((int) (n % companies));
                    String metric = "lat" + (int) ((n / companies) % o.metrics);
                    long wallMs = System.currentTimeMillis();
                    String body = "{\"eventId\":\"" + phase.run + "-" + n + "\",\"companyId\":\"" + company
                            + "\",\"occurredAt\":\"" + Instant.ofEpochMilli(wallMs) + "\",\"value\":" + (n % 100) + "}";
                    phase.windows.published(company, metric, wallMs, System.nanoTime(), measuring);
                    if (measuring) {
                        phase.publishedMeasured++;
                    }
                    nc.publish(prefix + "metrics." + metric, body.getBytes(StandardCharsets.UTF_8));
                }
                nc.flush(java.time.Duration.ofSeconds(5));
                long drain = System.nanoTime() + TimeUnit.SECONDS.toNanos(o.drainSeconds);
                while (phase.deliveredMeasured.get() < phase.publishedMeasured && System.nanoTime() < drain) {
                    Thread.sleep(50);
                }
                for (Socket s : sockets) {
                    s.close();
                }
                Map<String, Object> row = new LinkedHashMap<>();
                synchronized (phase) {
                    row.put("eventsPerSec", rate);
                    row.put("companies", companies);
                    row.put("metrics", o.metrics);
                    row.put("published", phase.publishedMeasured);
                    row.put("delivered", phase.deliveredMeasured.get());
                    // an empty histogram (nothing delivered) has no percentiles: null, not 0 ms
                    row.put("p50Ms", SseBench.percentileMs(phase.total, 50));
                    row.put("p95Ms", SseBench.percentileMs(phase.total, 95));
                    row.put("p99Ms", SseBench.percentileMs(phase.total, 99));
                    row.put("maxMs", phase.total.getTotalCount() == 0 ? null : phase.total.getMaxValue() / 1000.0);
                    row.put("jobP50Ms", phase.jobPart.getTotalCount() == 0 ? null : phase.jobPart.getValueAtPercentile(50));
                    row.put("jobP99Ms", phase.jobPart.getTotalCount() == 0 ? null : phase.jobPart.getValueAtPercentile(99));
                    row.put("gatewayP50Ms", phase.gatewayPart.getTotalCount() == 0 ? null : phase.gatewayPart.getValueAtPercentile(50));
                    row.put("gatewayP99Ms", phase.gatewayPart.getTotalCount() == 0 ? null : phase.gatewayPart.getValueAtPercentile(99));
                    row.put("frames", phase.frames.get());
                    row.put("settings", o.label);
                    row.put("loadAverage", loadAverage());
                    row.put("measureStartUtc", Instant.ofEpochMilli(phase.measureStartEpochMs).toString());
                    ObjectNode chart = charts.addObject();
                    chart.put("title", rate + " events/s: p50 / p99 per second (ms)");
                    chart.put("unit", "ms");
                    ObjectNode series = chart.putObject("series");
                    ArrayNode p50 = series.putArray("p50");
                    ArrayNode p99 = series.putArray("p99");
                    for (Histogram h : phase.perSecond) {
                        p50.add(SseBench.percentileMs(h, 50));
                        p99.add(SseBench.percentileMs(h, 99));
                    }
                }
                System.out.println("    " + row);
                rows.add(row);
            }
        }
        result.set("rows", Json.mapper().valueToTree(rows));
        String json = Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(result);
        Path out = Path.of(o.out);
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, json + "\n");
        System.out.println("results written to " + out);
    }

    /** One SSE connection per company (blocking socket + reader thread each; a handful of connections). */
    private List<Socket> subscribe(URI url, Phase phase, int companies) throws Exception {
        List<Socket> sockets = new ArrayList<>();
        CountDownLatch ready = new CountDownLatch(companies);
        String secret = DevToken.secretFromEnvironment();
        for (int i = 0; i < companies; i++) {
            String company = phase.company(i);
            Socket s = new Socket(url.getHost(), url.getPort());
            s.setTcpNoDelay(true);
            OutputStream out = s.getOutputStream();
            out.write(("GET " + url.getRawPath() + "?companyId=" + company + " HTTP/1.1\r\nHost: " + url.getHost() + ":"
                    + url.getPort() + "\r\nAccept: text/event-stream\r\nAuthorization: Bearer "
                    + DevToken.forCompany(secret, company) + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            SseFrameParser parser = new SseFrameParser(new SseFrameParser.Listener() {
                @Override
                public void onStatus(int status) {
                    if (status != 200) {
                        System.out.println("    subscribe " + company + " answered " + status);
                    }
                    ready.countDown();
                }

                @Override
                public void onEvent(String id, String event, String data) {
                    if ("metric_updated".equals(event)) {
                        phase.onFrame(id, data);
                    }
                }

                @Override
                public void onComment(String comment) {
                }
            });
            parser.readOnThread(s, "e2e-sse-" + i, 16 * 1024); // until the phase closes the socket
            sockets.add(s);
        }
        if (!ready.await(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the gateway at " + url + " did not answer every subscribe within 30 s");
        }
        return sockets;
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException e) {
            return "n/a";
        }
    }

    @Command(name = "run", mixinStandardHelpOptions = true, description = "Publish at each rate and measure until every window's frame arrived.")
    static final class Options implements Callable<Integer> {
        @Option(names = "--url", paramLabel = "URL", description = "the gateway's /stream/updates (default: ${DEFAULT-VALUE})")
        String url = "http://127.0.0.1:18080/stream/updates";

        @Option(names = "--rates", split = ",", paramLabel = "R,R", description = "events per second, one run each (default: ${DEFAULT-VALUE})")
        List<Integer> rates = List.of(1, 1000);

        @Option(names = "--seconds", paramLabel = "N", description = "measured seconds per rate (default: ${DEFAULT-VALUE})")
        int seconds = 20;

        @Option(names = "--warmup", paramLabel = "N", description = "warm-up seconds (default: ${DEFAULT-VALUE})")
        int warmupSeconds = 5;

        @Option(names = "--drain", paramLabel = "N", description = "seconds to wait for the last frames (default: ${DEFAULT-VALUE})")
        int drainSeconds = 15;

        @Option(names = "--companies", paramLabel = "N", description = "companies (default: ${DEFAULT-VALUE})")
        int companies = 10;

        @Option(names = "--metrics", paramLabel = "N", description = "metrics per company (default: ${DEFAULT-VALUE})")
        int metrics = 4;

        @Option(names = "--label", paramLabel = "L", description = "the job settings the run is labelled with (default: ${DEFAULT-VALUE})")
        String label = "defaults";

        @Option(names = "--out", paramLabel = "FILE", description = "where the JSON goes (default: perf/results/e2e-<time>.json)")
        String out;

        @Override
        public Integer call() throws Exception {
            if (out == null) {
                out = "perf/results/e2e-" + Instant.now().toString().replace(':', '-') + ".json";
            }
            new E2eBench(CsrConfig.fromEnvironment()).run(this);
            return 0;
        }
    }
}
