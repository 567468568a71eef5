package io.csr.job.perf;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.csr.common.cli.Cli;
import io.csr.common.contract.MetricUpdate;
import io.csr.common.contract.RedisStreams;
import io.csr.common.json.Json;
import io.csr.common.redis.RedisEndpoint;
import io.csr.job.model.RedisUpdate;
import io.csr.job.redis.UpdateStreams;
import io.csr.job.rows.RowFormat;
import io.csr.job.testing.TestClusters;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.params.ScanParams;
import redis.clients.jedis.resps.ScanResult;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Redis memory under a steady stream of live updates with a count bound (issue 23: "a 10-minute run at 2,000
 * updates/s with XLEN and used_memory flat at the configured cap"). Appends {@code --rate} Contract 3
 * {@code metric_updated} entries a second, spread over {@code --companies} companies, through the job's own writer
 * ({@link UpdateStreams}: XADD with {@code MINID ~}, one {@code XTRIM MAXLEN ~} per company and batch) with
 * {@code REDIS_STREAM_MAXLEN = --max-len}, under a key prefix of its own; every {@code --sample-seconds} it records
 * each company's XLEN, the streams' own bytes ({@code MEMORY USAGE … SAMPLES 0}, summed) and the server's
 * {@code used_memory}. The verdict (exit 1 when it fails): once the streams have filled up to the cap, no stream is
 * longer than the cap plus one stream node (100 entries: {@code MAXLEN ~} trims whole nodes) and the streams' bytes in
 * the last minute are within 5 % of those in the first minute after filling — and so is {@code used_memory}, on the
 * redis-server the benchmark starts of its own (the default; {@code --redis URL} uses a shared one, whose
 * used_memory counts other tenants and is reported only). Results: perf/results/redis-memory-*.json.
 *
 * <p>Run: {@code bin/csr bench redis-memory [--minutes 10] [--rate 2000] [--companies 20] [--max-len 1000]}.
 */
public final class RedisMemoryBenchmark {
    /** {@code MAXLEN ~} trims whole stream nodes: a stream may exceed the cap by up to one node (stream-node-max-entries). */
    static final long NODE_ENTRIES = 100;
    static final double FLAT_TOLERANCE = 0.05;

    public static void main(String[] args) {
        System.exit(Cli.run(new Options(), args));
    }

    @Command(name = "bench redis-memory", mixinStandardHelpOptions = true,
            description = "Redis memory of the update streams under steady load with a count bound (REDIS_STREAM_MAXLEN).")
    static final class Options implements Callable<Integer> {
        @Option(names = "--minutes", paramLabel = "M", description = "how long to append (default: ${DEFAULT-VALUE})")
        double minutes = 10;
        @Option(names = "--rate", paramLabel = "N", description = "updates per second in all (default: ${DEFAULT-VALUE})")
        int rate = 2_000;
        @Option(names = "--companies", paramLabel = "N", description = "companies the updates are spread over (default: ${DEFAULT-VALUE})")
        int companies = 20;
        @Option(names = "--max-len", paramLabel = "N", description = "REDIS_STREAM_MAXLEN of the run (default: ${DEFAULT-VALUE})")
        long maxLen = 1_000;
        @Option(names = "--sample-seconds", paramLabel = "S", description = "seconds between samples (default: ${DEFAULT-VALUE})")
        int sampleSeconds = 10;
        @Option(names = "--redis", paramLabel = "URL", description = "a Redis already running (REDIS_URL) instead of a redis-server of the "
                + "benchmark's own; its used_memory then counts whatever else it holds, so only the streams' own bytes are judged")
        String redisUrl;
        @Option(names = "--results", paramLabel = "DIR", description = "where the result goes (default: ${DEFAULT-VALUE})")
        Path results = Path.of("perf/results");

        @Override
        public Integer call() throws Exception {
            if (rate < 20 || companies < 1 || maxLen < 1 || minutes <= 0 || sampleSeconds < 1) {
                throw new IllegalArgumentException("--rate must be >= 20, --companies, --max-len and --sample-seconds >= 1, --minutes > 0");
            }
            String prefix = "csr_bench_mem_" + Long.toHexString(System.nanoTime()) + ":";
            UpdateStreams streams = new UpdateStreams(prefix, RedisStreams.RETENTION, maxLen);
            List<String> companyIds = new ArrayList<>();
            for (int c = 0; c < companies; c++) {
                companyIds.add("memco" + c);
            }
            ArrayNode samples = Json.mapper().createArrayNode();
            long appended = 0;
            boolean own = redisUrl == null;
            try (OwnRedis server = own ? OwnRedis.start() : null;
                 UnifiedJedis redis = RedisEndpoint.parse(own ? server.url() : redisUrl).open("csr-bench-redis-memory", 5_000, 4)) {
                long start = System.nanoTime();
                long end = start + (long) (minutes * 60e9);
                long tickNanos = 50_000_000L; // 20 batches a second, as a job flushing every 50 ms would send them
                int perTick = rate / 20;
                long nextTick = start;
                long nextSample = start;
                System.out.printf("appending %,d updates/s over %d companies with MAXLEN ~ %,d for %.1f min (prefix %s)%n",
                        rate, companies, maxLen, minutes, prefix);
                while (System.nanoTime() < end) {
                    long now = System.nanoTime();
                    if (now >= nextSample) {
                        ObjectNode s = sample(redis, prefix, companyIds, (now - start) / 1e9, appended);
                        samples.add(s);
                        System.out.printf("%6.0f s  appended %,10d  max XLEN %,6d  streams %,12d B  used_memory %,12d B%n",
                                s.get("seconds").asDouble(), appended, s.get("maxXlen").asLong(), s.get("streamBytes").asLong(), s.get("usedMemory").asLong());
                        nextSample += sampleSeconds * 1_000_000_000L;
                    }
                    List<RedisUpdate> batch = new ArrayList<>(perTick);
                    long nowMs = System.currentTimeMillis();
                    for (int i = 0; i < perTick; i++) {
                        batch.add(update(companyIds.get((int) ((appended + i) % companies)), appended + i, nowMs));
                    }
                    streams.append(redis, batch, nowMs);
                    appended += perTick;
                    nextTick += tickNanos;
                    long wait = nextTick - System.nanoTime();
                    if (wait > 0) {
                        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000)); // pacing the load, not synchronisation
                    }
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                samples.add(sample(redis, prefix, companyIds, seconds, appended));
                Verdict verdict = Verdict.of(samples, fillSeconds(companies, maxLen, rate), maxLen, own);
                ObjectNode result = Json.mapper().createObjectNode();
                result.put("benchmark", "redis-memory");
                result.put("at", Instant.now().toString());
                result.put("redis", redis.info("server").lines().filter(l -> l.startsWith("redis_version:")).findFirst().orElse("?"));
                result.put("minutes", minutes);
                result.put("ratePerSecond", rate);
                result.put("achievedPerSecond", appended / seconds);
                result.put("companies", companies);
                result.put("maxLen", maxLen);
                result.put("redisServer", own ? "own redis-server (nothing else in it)" : "shared: " + RedisEndpoint.parse(redisUrl).redacted());
                result.put("appended", appended);
                result.put("bytesPerEntry", verdict.lastStreamBytes / Math.max(1.0, verdict.lastEntries));
                result.put("flat", verdict.flat);
                result.put("verdict", verdict.text);
                result.set("samples", samples);
                Files.createDirectories(results);
                Path out = results.resolve("redis-memory-" + Instant.now().toString().replace(':', '-').replaceAll("\\..*", "Z") + ".json");
                Files.writeString(out, Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(result));
                System.out.println(verdict.text);
                System.out.println("results: " + out);
                deleteKeys(redis, prefix);
                return verdict.flat ? 0 : 1;
            }
        }
    }

    /** Seconds until every company's stream holds its cap, from an empty start. */
    static double fillSeconds(int companies, long maxLen, int rate) {
        return (double) companies * (maxLen + NODE_ENTRIES) / rate;
    }

    /** A metric_updated entry the size the job writes (a 1-minute window with all its figures). */
    static RedisUpdate update(String companyId, long n, long nowMs) {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        double avg = 20 + r.nextDouble(40);
        MetricUpdate data = new MetricUpdate(companyId, "session_minutes", "1m", RowFormat.isoInstant(nowMs - nowMs % 60_000),
                1 + n % 500, avg * (1 + n % 500), avg / 2, avg * 2, avg, avg * 0.98, avg * 1.2, avg * 1.8, avg / 4, 1 + n / 20, false);
        return new RedisUpdate(companyId, "metric_updated", RowFormat.json(data));
    }

    private static ObjectNode sample(UnifiedJedis redis, String prefix, List<String> companyIds, double seconds, long appended) {
        long maxXlen = 0;
        long entries = 0;
        long bytes = 0;
        for (String company : companyIds) {
            String key = RedisStreams.updatesKey(prefix, company);
            long len = redis.xlen(key);
            maxXlen = Math.max(maxXlen, len);
            entries += len;
            Long usage = redis.memoryUsage(key, 0);
            bytes += usage == null ? 0 : usage;
        }
        long used = redis.info("memory").lines().filter(l -> l.startsWith("used_memory:"))
                .mapToLong(l -> Long.parseLong(l.substring("used_memory:".length()).strip())).findFirst().orElse(-1);
        ObjectNode s = Json.mapper().createObjectNode();
        s.put("seconds", Math.round(seconds * 10) / 10.0);
        s.put("appended", appended);
        s.put("maxXlen", maxXlen);
        s.put("entries", entries);
        s.put("streamBytes", bytes);
        s.put("usedMemory", used);
        return s;
    }

    private static void deleteKeys(UnifiedJedis redis, String prefix) {
        String cursor = ScanParams.SCAN_POINTER_START;
        do {
            ScanResult<String> page = redis.scan(cursor, new ScanParams().match(prefix + "*").count(1_000));
            page.getResult().forEach(redis::del);
            cursor = page.getCursor();
        } while (!cursor.equals(ScanParams.SCAN_POINTER_START));
    }

    /**
     * Whether the samples after the streams filled up stay at the cap: no stream above cap + one node, and the
     * streams' bytes in the last minute within {@link #FLAT_TOLERANCE} of those in the first minute after filling.
     */
    record Verdict(boolean flat, String text, long lastStreamBytes, long lastEntries) {
        static Verdict of(ArrayNode samples, double fillSeconds, long maxLen, boolean judgeUsedMemory) {
            List<ObjectNode> settled = new ArrayList<>();
            samples.forEach(s -> {
                if (s.get("seconds").asDouble() >= fillSeconds) {
                    settled.add((ObjectNode) s);
                }
            });
            if (settled.size() < 2) {
                return new Verdict(false, "too short: fewer than 2 samples after the streams filled up (" + Math.round(fillSeconds)
                        + " s); run longer (--minutes)", 0, 0);
            }
            ObjectNode last = settled.get(settled.size() - 1);
            long longest = settled.stream().mapToLong(s -> s.get("maxXlen").asLong()).max().orElse(0);
            double start = settled.get(0).get("seconds").asDouble();
            double end = last.get("seconds").asDouble() - 60;
            double firstMinute = mean(settled, "streamBytes", start);
            double lastMinute = mean(settled, "streamBytes", end);
            double growth = lastMinute / firstMinute - 1;
            double usedFirst = mean(settled, "usedMemory", start);
            double usedLast = mean(settled, "usedMemory", end);
            double usedGrowth = usedLast / usedFirst - 1;
            boolean capped = longest <= maxLen + NODE_ENTRIES;
            boolean flat = Math.abs(growth) <= FLAT_TOLERANCE && (!judgeUsedMemory || Math.abs(usedGrowth) <= FLAT_TOLERANCE);
            String text = String.format("%s: longest stream %,d entries (cap %,d + one node of %d); streams' bytes %,.0f in the first "
                            + "minute after filling, %,.0f in the last (%+.1f %%); used_memory %,.0f then %,.0f (%+.1f %%, %s); tolerance %.0f %%",
                    capped && flat ? "FLAT" : "NOT FLAT", longest, maxLen, NODE_ENTRIES, firstMinute, lastMinute, growth * 100,
                    usedFirst, usedLast, usedGrowth * 100, judgeUsedMemory ? "judged: the Redis holds nothing else" : "not judged: a shared Redis",
                    FLAT_TOLERANCE * 100);
            return new Verdict(capped && flat, text, last.get("streamBytes").asLong(), last.get("entries").asLong());
        }

        /** The mean of a field over the minute of samples from {@code from}. */
        private static double mean(List<ObjectNode> samples, String field, double from) {
            return samples.stream().filter(s -> s.get("seconds").asDouble() >= from && s.get("seconds").asDouble() <= from + 60)
                    .mapToLong(s -> s.get(field).asLong()).average().orElse(Double.NaN);
        }
    }

    /** A redis-server of the benchmark's own on a free loopback port, nothing persisted, so used_memory is the streams'. */
    static final class OwnRedis implements AutoCloseable {
        private final Process process;
        private final int port;
        private final Path dir;

        private OwnRedis(Process process, int port, Path dir) {
            this.process = process;
            this.port = port;
            this.dir = dir;
        }

        static OwnRedis start() throws Exception {
            int port = TestClusters.freePort();
            Path dir = Files.createTempDirectory("csr-bench-redis");
            Process p = new ProcessBuilder("redis-server", "--port", Integer.toString(port), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--dir", dir.toString()).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("redis.log").toFile()).start();
            OwnRedis redis = new OwnRedis(p, port, dir);
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (true) {
                try (java.net.Socket probe = new java.net.Socket("127.0.0.1", port)) {
                    return redis;
                } catch (java.io.IOException notYet) {
                    if (!p.isAlive() || System.nanoTime() > deadline) {
                        redis.close();
                        throw new IllegalStateException("redis-server did not start on port " + port + " (is it installed? apt-get install "
                                + "redis-server); see " + dir.resolve("redis.log"));
                    }
                    Thread.sleep(50); // polling a port that has nothing to wait on
                }
            }
        }

        String url() {
            return "redis://127.0.0.1:" + port;
        }

        @Override
        public void close() throws Exception {
            process.destroy();
            process.waitFor();
            try (var files = Files.walk(dir)) {
                for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(f);
                }
            }
        }
    }
}
