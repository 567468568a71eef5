package io.csr.perf.soak;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.clickhouse.ClickHouseSettings;
import io.csr.common.config.CsrConfig;
import io.csr.common.contract.RedisStreams;
import io.csr.common.migrate.Migrations;
import io.csr.common.postgres.PostgresSettings;
import io.csr.common.verify.ExactlyOnceCheck;
import io.nats.client.Connection;
import io.nats.client.Nats;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.csr.common.lb.LoadBalancedGateways;
import io.csr.common.redis.RedisEndpoint;
import redis.clients.jedis.JedisPooled;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.resps.StreamEntry;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;

/**
 * {@code csr soak}: the single-machine topology on processes of its own ({@link OwnServices}), traffic with a ledger
 * ({@link Traffic}), dashboards ({@link SseClient}), K seeded faults ({@link Fault}), recovery measured after each,
 * then — once everything settled — the verdict: every valid event once in ClickHouse, every window equal to a
 * recomputation from the ledger, dead letters exactly the malformed messages (all judged by {@link ExactlyOnceCheck},
 * the exactly-once ITCases' verdict), every dashboard consistent and equal to ClickHouse at the end, every cohort's
 * figures equal to a recomputation from the ledger ({@link CohortCallers}).
 */
final class Soak {
    static final Duration RECOVERY_LIMIT = Duration.ofSeconds(120);

    /** {@code ha}: the HA topology ({@link HaNodes}, gateways behind HAProxy) and its fault kinds ({@link Fault#HA}). */
    record Options(double minutes, int faults, long seed, int rate, int companies, Path root, Path workDir, Path resultsDir,
                   Duration settleLimit, boolean ha) {
        Options(double minutes, int faults, long seed, int rate, int companies, Path root, Path workDir, Path resultsDir,
                Duration settleLimit) {
            this(minutes, faults, seed, rate, companies, root, workDir, resultsDir, settleLimit, false);
        }
    }

    /** Gateways behind HAProxy in the HA topology: 2 on this 2-core machine (GatewaysNode runs 3 on a bigger one). */
    static final int HA_GATEWAYS = 2;

    /** One fault as it happened and what recovery took (ms after the fault was injected; null = not within the limit). */
    record Happened(int index, String fault, double plannedAtSeconds, double atSeconds, double restoredAfterMs,
                    Long eventsFlowMs, Long dashboardCurrentMs, Long clickhouseCurrentMs, int resetsSeen, long staleFrames,
                    long publishRetries, long probeFramesDuringFault, Long probeRowsDuringFault, String detail) {
    }

    private final Options o;
    private final String run;
    private OwnServices services;
    private HaNodes ha;
    private LoadBalancedGateways gateways;
    /** The raw-copy counters the verdict reads: this server's, or (HA) every replica's through remote(). */
    private UnaryOperator<String> counters = ExactlyOnceCheck.THIS_SERVER;
    private Traffic traffic;
    private ClickHouseAccess ch;
    private final List<SseClient> clients = new ArrayList<>();
    private SseClient probeClient;
    private CohortCallers cohorts;
    private final List<Happened> happened = new ArrayList<>();
    private final List<Map<String, Object>> timeline = new ArrayList<>();
    private volatile boolean sampling = true;
    private long trafficStartMs;
    private int gatewayStarts;
    private int replicaKills;

    Soak(Options o) {
        this.o = o;
        this.run = "s" + Long.toString(o.seed(), 36);
    }

    /** Runs the soak; the report is written whatever the verdict. Returns true when every check held. */
    boolean run() throws Exception {
        Files.createDirectories(o.workDir());
        if (o.ha()) {
            say("starting the HA topology's clusters (ZooKeeper, ClickHouse 1x2, Redis Cluster 3+3, NATS x3) under " + o.workDir().resolve("ha"));
            ha = new HaNodes(o.root(), o.workDir().resolve("ha"));
        }
        try {
            services = new OwnServices(o.root(), o.workDir(), Map.of(), ha == null ? null : ha.endpoints);
        } catch (IOException | RuntimeException e) {
            if (ha != null) {
                ha.close();
            }
            throw e;
        }
        try {
            return runWithServices();
        } finally {
            sampling = false;
            for (SseClient c : clients) {
                c.stop();
            }
            if (cohorts != null) {
                cohorts.stop();
            }
            if (traffic != null) {
                traffic.close();
            }
            if (ch != null) {
                ch.close();
            }
            if (gateways != null) {
                gateways.close();
            }
            // what depends on the servers first, then the servers (and the HA nodes) together
            ServiceProcess.stopTogether(services.dependents());
            List<java.util.concurrent.Callable<Void>> last = new ArrayList<>();
            last.add(() -> {
                ServiceProcess.stopTogether(services.servers());
                return null;
            });
            if (ha != null) {
                last.add(() -> {
                    ha.close();
                    return null;
                });
            }
            ServiceProcess.together(last);
            try {
                services.unmountCheckpointFs();
            } catch (IOException | RuntimeException e) {
                System.out.println("    could not unmount " + services.checkpointDir + ": " + e.getMessage());
            }
        }
    }

    private boolean runWithServices() throws Exception {
        if (ha == null) {
            say("own services under " + o.workDir() + " (redis :" + services.redisPort + ", nats :" + services.natsPort + ", clickhouse :"
                    + services.chHttpPort + ", postgres :" + services.pgPort + ", job REST :" + services.flinkPort + ", gateway :" + services.gatewayPort + ")");
        } else {
            say("HA topology under " + o.workDir() + ": " + ha.endpoints + ", postgres :" + services.pgPort + ", job REST :" + services.flinkPort);
        }
        ServiceProcess.startTogether(services.servers(), Duration.ofSeconds(90));
        CsrConfig config = CsrConfig.of(services.settings);
        try (Connection nc = Nats.connect(services.settings.get("NATS_URL"))) {
            nc.jetStreamManagement().addStream(StreamConfiguration.builder().name(services.settings.get("NATS_STREAM"))
                    .storageType(StorageType.File).replicas(ha == null ? 1 : 3).subjects("metrics.>", "journey.>", "q2q.>").build());
        }
        ClickHouseSettings chSettings = ClickHouseSettings.from(config.with(io.csr.common.config.ConfigKey.CLICKHOUSE_SOCKET_TIMEOUT_MS, "5000"));
        try (ClickHouseAccess admin = ClickHouseAccess.open(chSettings)) {
            Migrations.clickHouse(admin, Migrations.sqlRoot(), s -> { }).migrate();
            if (ha == null) {
                ExactlyOnceCheck.installRawCounters(admin); // raw copies counted merge-proof for the verdict
            } else {
                // each replica counts the rows INSERTs stored on it (a fetched part is not counted): read together they
                // are every row ever inserted, each once
                for (String url : ha.clickHouseUrls()) {
                    try (ClickHouseAccess direct = ClickHouseAccess.open(new ClickHouseSettings(url, "default", "", chSettings.database(),
                            false, 30_000))) {
                        ExactlyOnceCheck.installRawCounters(direct, "_local");
                    }
                }
                counters = ExactlyOnceCheck.onServers(List.of(ha.endpoints.get("CLICKHOUSE_TCP").split(",")), chSettings.database());
            }
        }
        Migrations.postgres(PostgresSettings.from(config), Migrations.sqlRoot(), s -> { }).migrate();
        ch = ClickHouseAccess.open(chSettings);
        say("migrated; starting the job and the gateway");
        // the job and the gateway(s) need the migrated servers, not each other: they start together
        URI gw;
        if (ha == null) {
            ServiceProcess.startTogether(List.of(services.job, services.gateway), Duration.ofSeconds(180));
            gw = URI.create("http://127.0.0.1:" + services.gatewayPort);
        } else {
            // ports of the HA nodes' block, below the ephemeral range: a gateway killed and started again gets its port back
            int[] ports = java.util.Arrays.stream(ha.endpoints.get("GATEWAY_PORTS").split(",")).mapToInt(Integer::parseInt).toArray();
            ServiceProcess.together(List.of(() -> {
                services.job.start(Duration.ofSeconds(180));
                return null;
            }, () -> {
                gateways = LoadBalancedGateways.start(services.gatewayClasspath(), services.gatewayEnv(), o.workDir().resolve("gateways"),
                        java.util.Arrays.copyOf(ports, HA_GATEWAYS), ports[ports.length - 1]);
                return null;
            }));
            gw = URI.create(gateways.url());
            say(HA_GATEWAYS + " gateways behind HAProxy at " + gw);
        }

        List<String> companies = new ArrayList<>();
        for (int i = 1; i <= o.companies(); i++) {
            companies.add("soak" + i);
        }
        int n = 0;
        for (String c : companies) {
            for (SseClient.Behaviour b : SseClient.Behaviour.values()) {
                clients.add(new SseClient(c + "-" + b.name().toLowerCase(), c, b, gw, o.seed() + n++));
            }
        }
        probeClient = new SseClient("probe", Traffic.PROBE_COMPANY, SseClient.Behaviour.NORMAL, gw, o.seed() + n);
        clients.add(probeClient);
        clients.forEach(SseClient::start);
        say(services.checkpointFsUnavailable == null
                ? "checkpoints on a tmpfs of " + OwnServices.CHECKPOINT_FS_SIZE + " at " + services.checkpointDir
                : "checkpoint disk full cannot be injected here (" + services.checkpointFsUnavailable + "): those faults are skipped");
        cohorts = new CohortCallers(gw, companies, System.currentTimeMillis() + (long) (o.minutes() * 30_000));
        cohorts.start();
        say("cohort callers: one cohort per company (" + cohorts.cohorts().size() + "), /cohort/{id}/metrics every "
                + CohortCallers.PERIOD_MS + " ms");

        traffic = new Traffic(services.settings.get("NATS_URL"), run, companies, o.rate(), o.seed(), o.workDir().resolve("ledger.jsonl"));
        List<Fault.Planned> plan = Fault.plan(o.faults(), o.minutes(), o.seed(), o.ha());
        say("traffic " + o.rate() + " events/s over " + companies.size() + " companies for " + o.minutes() + " min, "
                + plan.size() + " faults (seed " + o.seed() + ")");
        trafficStartMs = System.currentTimeMillis();
        long trafficEnd = System.nanoTime() + (long) (o.minutes() * 60e9);
        AtomicReference<Throwable> trafficFailure = new AtomicReference<>();
        Thread publisher = Thread.ofPlatform().name("soak-traffic").start(() -> {
            try {
                traffic.runUntil(Long.MAX_VALUE);
            } catch (Throwable t) {
                trafficFailure.set(t);
            }
        });
        Thread sampler = Thread.ofPlatform().daemon(true).name("soak-sampler").start(this::sample);

        for (Fault.Planned p : plan) {
            long due = trafficStartMs + (long) (p.atSeconds() * 1000);
            while (System.currentTimeMillis() < due && trafficFailure.get() == null) {
                Thread.sleep(Math.min(200, Math.max(1, due - System.currentTimeMillis())));
            }
            if (trafficFailure.get() != null) {
                break;
            }
            if (p.fault() == Fault.CHECKPOINT_DISK_FULL && services.checkpointFsUnavailable != null) {
                say("fault " + p.index() + " (" + p.fault() + ") skipped: " + services.checkpointFsUnavailable);
                continue;
            }
            happened.add(inject(p));
        }
        while (System.nanoTime() < trafficEnd && trafficFailure.get() == null) {
            Thread.sleep(200);
        }
        traffic.stop();
        cohorts.stop(); // its members are final now: the verdict recomputes the figures of these
        publisher.join(60_000);
        if (trafficFailure.get() != null) {
            throw new IllegalStateException("the traffic stopped: " + trafficFailure.get(), trafficFailure.get());
        }
        say("traffic done: " + traffic.published() + " messages published (" + traffic.probes() + " probes); settling");
        Map<String, Object> verdict = settleAndJudge();
        sampling = false;
        sampler.join(5_000);
        boolean ok = Boolean.TRUE.equals(verdict.get("pass"));
        say("verdict: " + verdict.get("eventsFinal") + " of " + verdict.get("distinctValidEvents") + " distinct valid events in events FINAL ("
                + verdict.get("rawEventCopies") + " raw copies), " + verdict.get("windowMismatchCount") + " of " + verdict.get("windowsChecked")
                + " windows differ, " + verdict.get("deadLetters") + " dead letters for " + verdict.get("malformedMessages") + " malformed, "
                + ((List<?>) verdict.get("cohortMismatches")).size() + " of " + verdict.get("cohortFiguresCompared") + " cohort figures differ");
        for (Object f : (List<?>) verdict.get("failures")) {
            say("FAILED: " + f);
        }
        Map<String, Integer> otherStarts = new LinkedHashMap<>();
        if (ha != null) {
            otherStarts.putAll(ha.starts());
            otherStarts.put("gateways (" + HA_GATEWAYS + ")", HA_GATEWAYS + gatewayStarts);
        }
        SoakReport.write(o, run, services, traffic, happened, timeline, verdict, clients, otherStarts);
        return ok;
    }

    // ------------------------------------------------------------------------------------------------- faults

    private Happened inject(Fault.Planned p) throws Exception {
        long t0 = System.currentTimeMillis();
        long t0n = System.nanoTime();
        long retriesBefore = traffic.publishRetries();
        int resetsBefore = clients.stream().mapToInt(SseClient::resets).sum();
        long staleBefore = clients.stream().mapToLong(SseClient::staleFrames).sum();
        say(String.format("fault %d/%d at %.0f s: %s (%s%s)", p.index(), o.faults(), (t0 - trafficStartMs) / 1000.0, p.fault(),
                p.fault().description, p.seconds() > 0 ? ", " + (int) p.seconds() + " s" : ""));
        String detail = null;
        long framesBefore = probeClient.frames();
        Long rowsBefore = probeRows();
        JobCheckpoints before = p.fault() == Fault.CHECKPOINT_DISK_FULL ? JobCheckpoints.read(services) : null;
        switch (p.fault()) {
            case JOB_KILL -> killAndRestart(services.job, p.seconds(), Duration.ofSeconds(180));
            case GATEWAY_KILL -> killAndRestart(services.gateway, p.seconds(), Duration.ofSeconds(90));
            case CLICKHOUSE_KILL -> killAndRestart(services.clickhouse, p.seconds(), Duration.ofSeconds(90));
            case REDIS_KILL -> killAndRestart(services.redis, p.seconds(), Duration.ofSeconds(30));
            case NATS_KILL -> killAndRestart(services.nats, p.seconds(), Duration.ofSeconds(60));
            case POSTGRES_KILL -> killAndRestart(services.postgres, p.seconds(), Duration.ofSeconds(60));
            case REDIS_EMPTY -> {
                services.redis.kill9();
                services.wipeRedis();
                Thread.sleep((long) (p.seconds() * 1000));
                services.redis.start(Duration.ofSeconds(30));
            }
            case CLICKHOUSE_STALL -> stall(services.clickhouse, p.seconds());
            case REDIS_STALL -> stall(services.redis, p.seconds());
            case BURST -> {
                traffic.burst(true);
                Thread.sleep((long) (p.seconds() * 1000));
                traffic.burst(false);
            }
            case CHECKPOINT_DISK_FULL -> detail = diskFull(p.seconds(), p.index() % 2 == 1);
            case CLICKHOUSE_MERGE_KILL -> {
                detail = killDuringMerge();
                Thread.sleep((long) (p.seconds() * 1000));
                restart(services.clickhouse, Duration.ofSeconds(90));
            }
            case CLICKHOUSE_REPLICA_KILL -> {
                // the first such fault kills s1r1, the replica every process uses first (its failover is the point), then
                // they alternate: a process stays on the replica it failed over to, so the next one kills that
                String node = "clickhouse-s1r" + (1 + replicaKills++ % 2);
                ha.kill(node);
                Thread.sleep((long) (p.seconds() * 1000));
                ha.start(node);
                detail = node + " killed and started again";
            }
            case REDIS_MASTER_KILL -> detail = killRedisMaster(p);
            case NATS_NODE_KILL -> {
                String node = "nats-n" + new Random(o.seed() * 31 + p.index()).nextInt(3);
                ha.kill(node);
                Thread.sleep((long) (p.seconds() * 1000));
                ha.start(node);
                detail = node + " killed and started again";
            }
            case GATEWAY_NODE_KILL -> {
                int i = new Random(o.seed() * 31 + p.index()).nextInt(gateways.nodes());
                gateways.kill(i);
                Thread.sleep((long) (p.seconds() * 1000));
                long started = System.nanoTime();
                gateways.startGateway(i);
                while (LoadBalancedGateways.status(gateways.gatewayUrl(i) + "/health/ready") != 200) {
                    if (!gateways.alive(i) || System.nanoTime() - started > Duration.ofSeconds(120).toNanos()) {
                        throw new IllegalStateException("gateway " + i + " was not ready again within 120 s (or exited); see " + gateways.log(i));
                    }
                    Thread.sleep(200);
                }
                gatewayStarts++;
                detail = "gateway " + i + " of " + gateways.nodes() + " killed; ready again " + (System.nanoTime() - started) / 1_000_000
                        + " ms after its start";
            }
        }
        long t1 = System.currentTimeMillis();
        long framesDuring = probeClient.frames() - framesBefore;
        Long rowsAfter = probeRows();
        Long rowsDuring = rowsBefore == null || rowsAfter == null ? null : rowsAfter - rowsBefore;
        long probesAtRestore = traffic.probes();
        List<Traffic.Entry> ledger = traffic.ledger();
        Long flow = await(t0n, () -> probeClient.lastId() != null && idMillis(probeClient.lastId()) > t1);
        Long dashboard = await(t0n, () -> dashboardCurrent(ledger, t0 - 60_000, t1));
        Long clickhouse = await(t0n, () -> clickhouseHasProbes(probesAtRestore));
        if (before != null) {
            detail += "; " + JobCheckpoints.read(services).since(before, t1);
        }
        Happened h = new Happened(p.index(), p.fault().name(), p.atSeconds(), (t0 - trafficStartMs) / 1000.0, t1 - t0, flow, dashboard,
                clickhouse, clients.stream().mapToInt(SseClient::resets).sum() - resetsBefore,
                clients.stream().mapToLong(SseClient::staleFrames).sum() - staleBefore, traffic.publishRetries() - retriesBefore,
                framesDuring, rowsDuring, detail);
        say(String.format("    restored after %d ms; events flow %s, dashboard current %s, ClickHouse current %s%s", t1 - t0,
                ms(flow), ms(dashboard), ms(clickhouse), detail == null ? "" : "; " + detail));
        return h;
    }

    /**
     * kill -9 of the Redis Cluster master that serves one company's updates stream (the seed picks the company, the probe
     * included), then — once its replica took over the slot, so the restarted node cannot come back as an empty master —
     * the down time, and the node started again: it rejoins as a replica of the new master and resyncs.
     */
    private String killRedisMaster(Fault.Planned p) throws Exception {
        List<String> companies = new ArrayList<>(clients.stream().map(c -> c.company).distinct().sorted().toList());
        String company = companies.get(new Random(o.seed() * 31 + p.index()).nextInt(companies.size()));
        String key = RedisStreams.updatesKey("soak:", company);
        int slot = redis.clients.jedis.util.JedisClusterCRC16.getSlot(key);
        int master = slotOwner(slot, -1);
        long t = System.nanoTime();
        ha.kill("redis-" + master);
        int took = -1;
        while (took < 0 && System.nanoTime() - t < RECOVERY_LIMIT.toNanos()) {
            Thread.sleep(100);
            took = slotOwner(slot, master);
        }
        long takeoverMs = (System.nanoTime() - t) / 1_000_000;
        Thread.sleep((long) (p.seconds() * 1000));
        ha.start("redis-" + master);
        return "master " + master + " of " + company + "'s stream (slot " + slot + ") killed; "
                + (took < 0 ? "no replica took over within " + RECOVERY_LIMIT.toSeconds() + " s" : "replica " + took + " took over after " + takeoverMs + " ms")
                + "; " + master + " started again as a replica";
    }

    /** The port of the live master serving {@code slot} as the cluster sees it, not {@code except}; -1 when none does yet. */
    private int slotOwner(int slot, int except) {
        for (int port : ha.redisPorts()) {
            if (port == except) {
                continue;
            }
            try (redis.clients.jedis.Jedis j = new redis.clients.jedis.Jedis("127.0.0.1", port, 1_000)) {
                for (String line : j.clusterNodes().split("\n")) {
                    String[] f = line.split(" ");
                    if (f.length < 9 || !f[2].contains("master") || f[2].contains("fail")) {
                        continue;
                    }
                    int owner = Integer.parseInt(f[1].substring(f[1].indexOf(':') + 1, f[1].indexOf('@') > 0 ? f[1].indexOf('@') : f[1].length()));
                    for (int i = 8; i < f.length; i++) {
                        if (f[i].startsWith("[")) {
                            continue;
                        }
                        String[] ab = f[i].split("-");
                        if (slot >= Integer.parseInt(ab[0]) && slot <= Integer.parseInt(ab.length > 1 ? ab[1] : ab[0])) {
                            return owner == except ? -1 : owner;
                        }
                    }
                }
                return -1; // this live node's view is the cluster's: no live master has the slot yet
            } catch (RuntimeException e) {
                // not answering: ask the next
            }
        }
        return -1;
    }

    private static void killAndRestart(ServiceProcess p, double downSeconds, Duration startLimit) throws Exception {
        p.kill9();
        Thread.sleep((long) (downSeconds * 1000));
        restart(p, startLimit);
    }

    private static void restart(ServiceProcess p, Duration startLimit) throws Exception {
        RuntimeException last = null;
        for (int attempt = 0; attempt < 5; attempt++) {
            try {
                p.start(startLimit);
                return;
            } catch (IllegalStateException e) {
                // PostgreSQL refuses while the killed postmaster's backends still hold its shared memory: try again
                last = e;
                Thread.sleep(2_000);
            }
        }
        throw last;
    }

    /**
     * The checkpoint file system filled to its last block for {@code seconds}, then freed: the job's checkpoints fail
     * meanwhile (it tolerates a few, then restarts from the newest retained one, which it can still read). With
     * {@code killJob} (every other such fault, by its index) the job is also killed with -9 halfway, while a checkpoint
     * may be half-written on the full disk, and started again at once, still on the full disk: it must resume from a
     * complete checkpoint.
     */
    private String diskFull(double seconds, boolean killJob) throws Exception {
        long checkpoints = services.checkpointBytes();
        long free = Files.getFileStore(services.checkpointDir).getUsableSpace();
        services.fillCheckpointFs();
        long left = Files.getFileStore(services.checkpointDir).getUsableSpace();
        long startedMs = -1;
        try {
            if (killJob) {
                Thread.sleep((long) (seconds * 500));
                long t = System.nanoTime();
                killAndRestart(services.job, 0, Duration.ofSeconds(180));
                startedMs = (System.nanoTime() - t) / 1_000_000;
                Thread.sleep((long) (seconds * 500));
            } else {
                Thread.sleep((long) (seconds * 1000));
            }
        } finally {
            services.freeCheckpointFs();
        }
        return String.format(Locale.ROOT, "checkpoints held %.1f MiB of %s; filled %.1f MiB, %d bytes left%s", checkpoints / 1048576.0,
                OwnServices.CHECKPOINT_FS_SIZE, free / 1048576.0, left,
                killJob ? "; the job killed -9 halfway and started again on the full disk (running after " + startedMs + " ms)" : "");
    }

    static final List<String> MERGE_TABLES = List.of("events", "metrics_timeseries", "metric_windows", "user_daily_metrics");

    /**
     * ClickHouse killed while it merges: {@code OPTIMIZE TABLE … FINAL} of the soak's larger tables, one after another,
     * while {@code system.merges} is polled and, on a thread of its own, the tables' directories (a merge writes its part
     * as {@code tmp_merge_*}, renamed when done; a merge of the soak's small parts lasts milliseconds, less than one
     * query's round trip). The kill -9 follows the first sign of either (at most 20 s of trying). Returns what was seen
     * and the unfinished merge directories the dead server left: the proof the kill cut a merge.
     */
    private String killDuringMerge() throws Exception {
        String db = services.settings.get("CLICKHOUSE_DATABASE");
        String url = "http://127.0.0.1:" + services.chHttpPort + "/";
        AtomicBoolean done = new AtomicBoolean();
        AtomicReference<String> sign = new AtomicReference<>();
        Set<String> leftBefore = services.unfinishedMerges(); // a start-up removes those of an earlier kill; kept apart in case not
        long t0 = System.nanoTime();
        Thread optimizer = Thread.ofPlatform().daemon(true).name("soak-optimize").start(() -> {
            for (int i = 0; !done.get(); i++) {
                clickHouseText(url, "OPTIMIZE TABLE " + db + "." + MERGE_TABLES.get(i % MERGE_TABLES.size()) + " FINAL", Duration.ofSeconds(30));
            }
        });
        Thread watcher = Thread.ofPlatform().daemon(true).name("soak-merge-watch").start(() -> {
            while (!done.get() && sign.get() == null) {
                Set<String> writing = newer(services.unfinishedMerges(), leftBefore);
                if (!writing.isEmpty()) {
                    killOnFirstSign(sign, "a merge's part being written (" + writing.iterator().next() + ") after " + (System.nanoTime() - t0) / 1_000_000
                            + " ms of OPTIMIZE");
                }
            }
        });
        try {
            while (sign.get() == null && System.nanoTime() - t0 < Duration.ofSeconds(20).toNanos()) {
                String rows = clickHouseText(url, "SELECT table, num_parts, round(progress, 3), round(elapsed, 3)"
                        + " FROM system.merges WHERE database = '" + db + "' FORMAT TSV", Duration.ofSeconds(2));
                if (rows != null && !rows.isBlank()) {
                    String[] f = rows.lines().findFirst().orElseThrow().split("\\t");
                    killOnFirstSign(sign, "a merge system.merges showed: " + f[0] + ", " + f[1] + " parts, progress " + f[2] + ", " + f[3]
                            + " s in, after " + (System.nanoTime() - t0) / 1_000_000 + " ms of OPTIMIZE");
                }
            }
            killOnFirstSign(sign, null);
        } finally {
            done.set(true);
        }
        watcher.join(10_000);
        optimizer.join(10_000);
        Set<String> cut = newer(services.unfinishedMerges(), leftBefore);
        return (sign.get() == null ? "no merge seen within 20 s; killed anyway" : "killed during " + sign.get())
                + "; the dead server left " + cut.size() + " unfinished merge directories " + cut;
    }

    /** kill -9 of ClickHouse by whichever watcher saw a merge first; {@code what} null: none did, killed anyway. */
    private void killOnFirstSign(AtomicReference<String> sign, String what) {
        if (what == null ? sign.get() == null : sign.compareAndSet(null, what)) {
            try {
                services.clickhouse.kill9();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static Set<String> newer(Set<String> now, Set<String> before) {
        Set<String> out = new TreeSet<>(now);
        out.removeAll(before);
        return out;
    }

    /** A statement's text answer over ClickHouse's HTTP interface; null when it failed (down, timed out, an error). */
    private static String clickHouseText(String url, String sql, Duration timeout) {
        try {
            HttpResponse<String> r = OwnServices.HTTP.send(HttpRequest.newBuilder(URI.create(url))
                    .timeout(timeout).POST(HttpRequest.BodyPublishers.ofString(sql)).build(),
                    HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? r.body() : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private static void stall(ServiceProcess p, double seconds) throws InterruptedException {
        p.stall();
        try {
            Thread.sleep((long) (seconds * 1000));
        } finally {
            p.resume();
        }
    }

    /** ms after {@code t0n} at which {@code condition} first held, polled every 100 ms; null when not within the limit. */
    private static Long await(long t0n, BooleanSupplier condition) throws InterruptedException {
        while (System.nanoTime() - t0n < RECOVERY_LIMIT.toNanos()) {
            boolean holds;
            try {
                holds = condition.getAsBoolean();
            } catch (RuntimeException e) {
                holds = false;
            }
            if (holds) {
                return (System.nanoTime() - t0n) / 1_000_000;
            }
            Thread.sleep(100);
        }
        return null;
    }

    /** The probe dashboard shows every probe published in [from, to]: its 1-minute windows count at least as many. */
    private boolean dashboardCurrent(List<Traffic.Entry> ledger, long from, long to) {
        Map<Long, Long> perMinute = new HashMap<>();
        for (Traffic.Entry e : ledger) {
            if ("probe".equals(e.kind()) && e.publishedAtMs() <= to) {
                long minute = Math.floorDiv(e.published().occurredAtMs(), 60_000L) * 60_000L;
                if (minute + 60_000 > from) {
                    perMinute.merge(minute, 1L, Long::sum);
                }
            }
        }
        Map<String, SseClient.Shown> view = probeClient.view();
        for (Map.Entry<Long, Long> w : perMinute.entrySet()) {
            SseClient.Shown s = view.get(Traffic.PROBE_METRIC + "|1m|" + Instant.ofEpochMilli(w.getKey()));
            if (s == null || s.count() < w.getValue()) {
                return false;
            }
        }
        return true;
    }

    /** Probe rows in events as inserted (no FINAL: a rough figure of what ClickHouse got); null when it does not answer. */
    private Long probeRows() {
        try {
            return ch.queryLong("SELECT count() FROM events WHERE company_id = '" + Traffic.PROBE_COMPANY + "'");
        } catch (RuntimeException e) {
            return null;
        }
    }

    private boolean clickhouseHasProbes(long probes) {
        int from = (run + "-p").length() + 1;
        return ch.queryLong("SELECT count() FROM (SELECT event_id FROM events FINAL WHERE company_id = '" + Traffic.PROBE_COMPANY
                + "') WHERE toUInt64OrZero(substring(event_id, " + from + ")) < " + probes) >= probes;
    }

    static long idMillis(String id) {
        return Long.parseLong(id.substring(0, id.indexOf('-')));
    }

    private static String ms(Long v) {
        return v == null ? "not within " + RECOVERY_LIMIT.toSeconds() + " s" : v + " ms";
    }

    /** One sample a second for the timeline: messages published, raw events rows in ClickHouse, frames shown. */
    private void sample() {
        while (sampling) {
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("t", (System.currentTimeMillis() - trafficStartMs) / 1000.0);
            s.put("published", traffic.published());
            s.put("validPublished", traffic.newValid());
            Long rows = null;
            try {
                rows = ch.queryLong("SELECT count() FROM events");
            } catch (RuntimeException e) {
                // ClickHouse down or stalled: a hole in the line
            }
            s.put("clickhouseRows", rows);
            s.put("frames", clients.stream().mapToLong(SseClient::frames).sum());
            synchronized (timeline) {
                timeline.add(s);
            }
            try {
                Thread.sleep(1_000);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    // ------------------------------------------------------------------------------------------------- verdict

    private Map<String, Object> settleAndJudge() throws Exception {
        List<Traffic.Entry> ledger = traffic.ledger();
        List<ExactlyOnceCheck.Published> published = ledger.stream().map(Traffic.Entry::published).toList();
        ExactlyOnceCheck check = new ExactlyOnceCheck(published, services.settings.get("NATS_STREAM"));
        long distinct = check.distinctValidEvents();
        Map<String, Object> v = new LinkedHashMap<>();
        List<String> failures = new ArrayList<>();
        long settleStart = System.nanoTime();
        long deadline = settleStart + o.settleLimit().toNanos();

        long eventsFinal = pollUntil(deadline, () -> ExactlyOnceCheck.eventsFinal(ch), x -> x == distinct);
        List<String> windows = List.of();
        while (System.nanoTime() < deadline) {
            windows = check.windowMismatches(ch);
            if (windows.isEmpty()) {
                break;
            }
            Thread.sleep(2_000);
        }
        Set<Long> malformed = check.malformedSequences();
        List<Long> dead = List.of();
        while (System.nanoTime() < deadline) {
            dead = check.deadLetterSequences(ch);
            if (new HashSet<>(dead).equals(malformed) && dead.size() == malformed.size()) {
                break;
            }
            Thread.sleep(2_000);
        }
        v.put("settleSeconds", (System.nanoTime() - settleStart) / 1e9);
        v.put("publishedMessages", ledger.size());
        v.put("distinctValidEvents", distinct);
        v.put("malformedMessages", malformed.size());
        Map<String, Long> kinds = new LinkedHashMap<>();
        ledger.forEach(e -> kinds.merge(e.kind(), 1L, Long::sum));
        v.put("messagesByKind", kinds);
        v.put("eventsFinal", eventsFinal);
        v.put("rawEventCopies", ExactlyOnceCheck.rawEventCopies(ch, counters));
        v.put("rawDeadLetterCopies", check.rawDeadLetterCopies(ch, counters));
        if (eventsFinal != distinct) {
            failures.add("events FINAL holds " + eventsFinal + " events, the ledger " + distinct + " distinct valid ones");
        }
        List<String> ledgerProblems = check.rawProblems(ch, true, counters);
        v.put("commitLedgerProblems", ledgerProblems);
        failures.addAll(ledgerProblems);
        v.put("windowMismatches", windows.size() > 50 ? windows.subList(0, 50) : windows);
        v.put("windowMismatchCount", windows.size());
        v.put("windowsChecked", ch.queryLong("SELECT count() FROM metric_windows FINAL"));
        if (!windows.isEmpty()) {
            failures.add(windows.size() + " windows differ from the recomputation from the ledger, e.g. " + windows.get(0));
        }
        v.put("deadLetters", dead.size());
        Set<Long> missingDead = new TreeSet<>(malformed);
        missingDead.removeAll(dead);
        Set<Long> extraDead = new TreeSet<>(dead);
        extraDead.removeAll(malformed);
        if (!missingDead.isEmpty() || !extraDead.isEmpty() || dead.size() != malformed.size()) {
            failures.add("dead letters are not exactly the malformed messages: missing seqs " + first(missingDead) + ", unexpected "
                    + first(extraDead) + ", " + dead.size() + " rows for " + malformed.size() + " malformed");
        }

        // dashboards: slow clients read at full speed now; wait until every one has its company's newest entry
        clients.forEach(SseClient::catchUp);
        try (UnifiedJedis redis = redisClient(services.settings.get("REDIS_URL"))) {
            long sseDeadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            while (System.nanoTime() < sseDeadline && !clients.stream().allMatch(c -> caughtUp(redis, c))) {
                Thread.sleep(500);
            }
            Thread.sleep(2_000); // a final coarse update in flight reaches every client alike
            List<Map<String, Object>> perClient = new ArrayList<>();
            for (SseClient c : clients) {
                perClient.add(judgeClient(redis, c, failures));
            }
            v.put("clients", perClient);
        }

        // cohort figures: each cohort × metric as /cohort/{id}/metrics answers it, against the ledger's recomputation
        // (a membership change may still be on its way to ClickHouse: awaited like the windows)
        LocalDate from = Instant.ofEpochMilli(trafficStartMs).atZone(ZoneOffset.UTC).toLocalDate().minusDays(3);
        LocalDate to = LocalDate.now(ZoneOffset.UTC);
        List<Map<String, Object>> compared = new ArrayList<>();
        List<String> cohortProblems = cohorts.mismatches(ledger, from, to, compared);
        long cohortDeadline = Math.max(deadline, System.nanoTime() + Duration.ofSeconds(60).toNanos());
        while (!cohortProblems.isEmpty() && System.nanoTime() < cohortDeadline) {
            Thread.sleep(2_000);
            cohortProblems = cohorts.mismatches(ledger, from, to, compared);
        }
        v.put("cohortCalls", cohorts.answers());
        v.put("cohortCallExamples", cohorts.examples());
        v.put("cohortMembershipChanged", cohorts.membershipChanged());
        v.put("cohortRange", from + ".." + to);
        v.put("cohortFiguresCompared", compared.size());
        v.put("cohortMismatches", cohortProblems);
        v.put("cohortFigures", compared);
        if (!cohortProblems.isEmpty()) {
            failures.add(cohortProblems.size() + " cohort figures differ from the recomputation from the ledger, e.g. " + cohortProblems.get(0));
        }
        v.put("failures", failures);
        v.put("pass", failures.isEmpty());
        return v;
    }

    private static String first(Set<Long> s) {
        return s.stream().limit(10).toList() + (s.size() > 10 ? " (" + s.size() + " in all)" : "");
    }

    /** One Redis, or a Redis Cluster (redis-cluster://, the HA topology) through any of its nodes. */
    private static UnifiedJedis redisClient(String url) {
        RedisEndpoint e = RedisEndpoint.parse(url);
        return e.cluster() ? new redis.clients.jedis.JedisCluster(new java.util.HashSet<>(e.nodes())) : new JedisPooled(URI.create(url));
    }

    private boolean caughtUp(UnifiedJedis redis, SseClient c) {
        List<StreamEntry> newest = redis.xrevrange(RedisStreams.updatesKey("soak:", c.company), (StreamEntryID) null, null, 1);
        return newest.isEmpty() || newest.get(0).getID().toString().equals(c.lastId());
    }

    private Map<String, Object> judgeClient(UnifiedJedis redis, SseClient c, List<String> failures) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("client", c.name);
        r.put("behaviour", c.behaviour.name());
        r.put("connections", c.connections());
        r.put("resets", c.resets());
        r.put("frames", c.frames());
        r.put("staleFramesDropped", c.staleFrames());
        // a version published again with other values fails the client (its violations, below): one version, one value
        r.put("sameVersionOtherValues", c.versionConflictCount());
        r.put("sameVersionOtherValuesExamples", c.versionConflicts().stream().limit(3).toList());
        List<String> problems = new ArrayList<>(c.violations());
        // no gap that no reset announced: every entry of the company's stream inside a stretch the client was shown
        // contiguously (from the id it resumed after, or its first frame, to its last) must have reached it
        String key = RedisStreams.updatesKey("soak:", c.company);
        long gaps = 0;
        for (SseClient.Segment s : c.segments()) {
            if (s.ids.isEmpty()) {
                continue;
            }
            Set<String> got = new HashSet<>(s.ids);
            String lo = s.from != null && !s.afterReset ? "(" + s.from : s.ids.get(0);
            String hi = s.ids.get(s.ids.size() - 1);
            for (StreamEntry e : redis.xrange(key, lo, hi)) {
                if (!got.contains(e.getID().toString())) {
                    gaps++;
                    if (gaps <= 5) {
                        problems.add("entry " + e.getID() + " of the stream never reached the client between " + lo + " and " + hi);
                    }
                }
            }
        }
        r.put("unannouncedGaps", gaps);
        // the final view against ClickHouse: every window of the company, newest version, same count and sum
        long stale = 0;
        long staleAfterReset = 0;
        long compared = 0;
        Map<String, SseClient.Shown> view = c.view();
        for (JsonNode w : ch.query("SELECT metric, window_size, toUInt32(window_start) AS ws, count, sum, version FROM metric_windows FINAL"
                + " WHERE company_id = '" + c.company + "'")) {
            String k = w.get("metric").asText() + "|" + w.get("window_size").asText() + "|" + Instant.ofEpochSecond(w.get("ws").asLong());
            SseClient.Shown s = view.get(k);
            compared++;
            boolean same = s != null && s.version() == w.get("version").asLong() && s.count() == w.get("count").asLong()
                    && Math.abs(s.sum() - w.get("sum").asDouble()) <= 1e-6 * Math.max(1, Math.abs(s.sum()));
            if (same) {
                continue;
            }
            if (c.resets() > 0 && (s == null || s.version() < w.get("version").asLong())) {
                staleAfterReset++; // told: a reset repaints the newest windows only (docs/streaming.md)
            } else {
                stale++;
                if (stale <= 5) {
                    problems.add(k + ": shows " + s + ", ClickHouse FINAL has version " + w.get("version") + " count " + w.get("count")
                            + " sum " + w.get("sum"));
                }
            }
        }
        r.put("windowsCompared", compared);
        r.put("finalViewDiffers", stale);
        r.put("staleAfterReset", staleAfterReset);
        r.put("problems", problems);
        if (!problems.isEmpty()) {
            failures.add("SSE client " + c.name + ": " + problems.get(0) + (problems.size() > 1 ? " (+" + (problems.size() - 1) + " more)" : ""));
        }
        return r;
    }

    private static long pollUntil(long deadline, java.util.function.LongSupplier value, java.util.function.LongPredicate done)
            throws InterruptedException {
        long last = -1;
        while (System.nanoTime() < deadline) {
            try {
                last = value.getAsLong();
                if (done.test(last)) {
                    return last;
                }
            } catch (RuntimeException e) {
                // not answering yet
            }
            Thread.sleep(2_000);
        }
        return last;
    }

    static void say(String s) {
        System.out.println("    " + s);
        System.out.flush();
    }
}
