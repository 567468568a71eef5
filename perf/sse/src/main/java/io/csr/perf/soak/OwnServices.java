package io.csr.perf.soak;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Every process of the single-machine topology, owned by the soak: its own redis-server (AOF on, so a kill keeps the
 * data and only the "restarted empty" fault loses it), nats-server -js, clickhouse-server (config rendered from
 * ops/local/clickhouse like bin/csr does), a PostgreSQL cluster of its own (initdb + postgres, as user postgres when
 * run as root, which PostgreSQL refuses), the embedded job (CsrJob --embedded, as bin/csr start runs it) and a
 * gateway — each on its own loopback port and data directory under the soak's work dir, so the shared services of the
 * machine are never touched. In the HA topology ({@code ha} endpoints given) Redis, NATS and ClickHouse are the
 * {@link HaNodes}' clusters instead (no process of those kinds here: {@link #redis}, {@link #nats}, {@link #clickhouse}
 * are null) and the gateways are several behind HAProxy, started by the soak ({@link #gateway} null).
 */
final class OwnServices {
    /** The newest PostgreSQL server binaries Debian installed (/usr/lib/postgresql/<version>/bin). */
    static final String PG_BIN = postgresBin();
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    final Path root;
    final Path dir;
    final int redisPort = freePort();
    final int natsPort = freePort();
    final int chHttpPort = freePort();
    final int chTcpPort = freePort();
    final int pgPort = freePort();
    final int flinkPort = freePort();
    final int gatewayPort = freePort();
    final ServiceProcess redis;
    final ServiceProcess nats;
    final ServiceProcess clickhouse;
    final ServiceProcess postgres;
    final ServiceProcess job;
    final ServiceProcess gateway;
    final Map<String, String> settings = new LinkedHashMap<>();
    /** The job's CHECKPOINT_DIR: a small tmpfs mounted there when the soak may mount (root), so it can be filled. */
    final Path checkpointDir;
    /** Why no small file system could be mounted on {@link #checkpointDir} (null: it is mounted). */
    final String checkpointFsUnavailable;

    OwnServices(Path root, Path dir, Map<String, String> extraJobSettings) throws IOException, InterruptedException {
        this(root, dir, extraJobSettings, null);
    }

    /** {@code ha}: the {@link HaNodes#endpoints} of the HA topology's clusters, null for the single topology. */
    OwnServices(Path root, Path dir, Map<String, String> extraJobSettings, Map<String, String> ha) throws IOException, InterruptedException {
        this.root = root;
        this.dir = dir;
        Path logs = Files.createDirectories(dir.resolve("logs"));
        settings.put("NATS_URL", "nats://127.0.0.1:" + natsPort);
        settings.put("NATS_STREAM", "CSR_SOAK");
        settings.put("REDIS_URL", "redis://127.0.0.1:" + redisPort);
        settings.put("REDIS_KEY_PREFIX", "soak:");
        settings.put("POSTGRES_URL", "jdbc:postgresql://127.0.0.1:" + pgPort + "/postgres");
        settings.put("POSTGRES_USER", "postgres");
        settings.put("CLICKHOUSE_URL", "http://127.0.0.1:" + chHttpPort);
        settings.put("CLICKHOUSE_DATABASE", "csr_soak");
        settings.put("FLINK_REST_URL", "http://127.0.0.1:" + flinkPort);
        settings.put("CSR_STATE_DIR", dir.resolve("state").toString());
        settings.put("JOB_NAME", "csr-soak");
        settings.put("GATEWAY_HOST", "127.0.0.1");
        settings.put("GATEWAY_PORT", Integer.toString(gatewayPort));
        if (ha != null) {
            settings.put("NATS_URL", ha.get("NATS_URL"));
            settings.put("REDIS_URL", ha.get("REDIS_URL"));
            settings.put("CLICKHOUSE_URL", ha.get("CLICKHOUSE_URL"));
            settings.put("CLICKHOUSE_CLUSTER", ha.get("CLICKHOUSE_CLUSTER"));
        }

        Path redisDir = Files.createDirectories(dir.resolve("redis"));
        redis = ha != null ? null : new ServiceProcess("redis", List.of("redis-server", "--bind", "127.0.0.1", "--port", Integer.toString(redisPort),
                "--dir", redisDir.toString(), "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
                "--protected-mode", "no"), Map.of(), redisDir, logs.resolve("redis.log"), () -> answers(redisPort), null);

        Path natsDir = Files.createDirectories(dir.resolve("nats"));
        nats = ha != null ? null : new ServiceProcess("nats", List.of(binary("nats-server"), "-a", "127.0.0.1", "-p", Integer.toString(natsPort), "-js",
                "-sd", natsDir.toString()), Map.of(), natsDir, logs.resolve("nats.log"), () -> answers(natsPort), null);

        Path chDir = Files.createDirectories(dir.resolve("clickhouse"));
        for (String sub : List.of("data", "tmp", "user_files", "log", "format_schemas")) {
            Files.createDirectories(chDir.resolve(sub));
        }
        Path templates = root.resolve("ops/local/clickhouse");
        Files.writeString(chDir.resolve("config.xml"), Files.readString(templates.resolve("config.xml"))
                .replace("@DIR@", chDir.toString()).replace("@HTTP_PORT@", Integer.toString(chHttpPort))
                .replace("@TCP_PORT@", Integer.toString(chTcpPort)).replace("@HOST@", "127.0.0.1"));
        Files.copy(templates.resolve("users.xml"), chDir.resolve("users.xml"));
        clickhouse = ha != null ? null : new ServiceProcess("clickhouse", List.of(binary("clickhouse-server"), "--config-file=" + chDir.resolve("config.xml")),
                Map.of(), chDir, logs.resolve("clickhouse.log"), () -> httpOk("http://127.0.0.1:" + chHttpPort + "/ping"), null);

        Path pgDir = dir.resolve("postgres");
        initPostgres(pgDir, logs.resolve("initdb.log"));
        List<String> pgCommand = new ArrayList<>(asPostgresUser());
        pgCommand.addAll(List.of(PG_BIN + "/postgres", "-D", pgDir.toString(), "-p", Integer.toString(pgPort), "-k", pgDir.toString(),
                "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=100"));
        postgres = new ServiceProcess("postgres", pgCommand, Map.of(), pgDir, logs.resolve("postgres.log"),
                () -> answers(pgPort), () -> postmasterPid(pgDir));

        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> jobCommand = new ArrayList<>(List.of(java, "-XX:MaxGCPauseMillis=10", "-Xmx768m"));
        jobCommand.addAll(flinkOpens(root));
        jobCommand.addAll(List.of("--enable-native-access=ALL-UNNAMED", "-Dcsr.root=" + root,
                "-Dlog4j2.configurationFile=" + root.resolve("job/src/main/config/log4j2-embedded.xml"),
                "-cp", moduleClasspath(root, "job", "csr-job", true), "io.csr.job.CsrJob", "--embedded"));
        checkpointDir = Files.createDirectories(dir.resolve("state").resolve("checkpoints"));
        Map<String, String> jobSettings = new LinkedHashMap<>(settings);
        jobSettings.put("CHECKPOINT_DIR", checkpointDir.toString());
        jobSettings.put("CHECKPOINT_INTERVAL_MS", "2000");
        jobSettings.put("JOB_PARALLELISM", "2");
        jobSettings.put("RETENTION_CHECK_HOURS", "0");
        jobSettings.put("JOB_RESTART_DELAY_MS", "1000");
        jobSettings.putAll(extraJobSettings);
        jobSettings.forEach((k, v) -> jobCommand.add(k + "=" + v));
        job = new ServiceProcess("job", jobCommand, settings, root, logs.resolve("job.log"),
                () -> httpContains("http://127.0.0.1:" + flinkPort + "/jobs/overview", "\"state\":\"RUNNING\""), null);

        Map<String, String> gatewayEnv = new LinkedHashMap<>(settings);
        gatewayEnv.put("STREAM_HEARTBEAT_SECONDS", "2");
        gatewayEnv.put("STREAM_BUFFER_EVENTS", "50");
        gatewayEnv.put("ANALYTICS_REFRESH_SECONDS", "3600");
        gateway = ha != null ? null : new ServiceProcess("gateway", List.of(java, "-XX:MaxGCPauseMillis=10", "-Xmx384m", "--enable-native-access=ALL-UNNAMED",
                "-Dcsr.root=" + root, "-cp", moduleClasspath(root, "gateway", "csr-gateway", false), "io.csr.gateway.Main"),
                gatewayEnv, root, logs.resolve("gateway.log"), () -> httpOk("http://127.0.0.1:" + gatewayPort + "/stream/health"), null);
        // last: nothing after it may throw, or the mount would outlive a soak that never started (no one unmounts it)
        checkpointFsUnavailable = mountSmallFs(checkpointDir, logs.resolve("mount.log"));
    }

    /** The servers of this machine's own to start before the migrations (HA: PostgreSQL only). */
    List<ServiceProcess> servers() {
        return Stream.of(redis, nats, clickhouse, postgres).filter(java.util.Objects::nonNull).toList();
    }

    /** Everything, in the order it is stopped at the end: what depends on the servers first. */
    List<ServiceProcess> all() {
        return Stream.of(gateway, job, postgres, clickhouse, nats, redis).filter(java.util.Objects::nonNull).toList();
    }

    /** What depends on the {@link #servers()}: stopped before them at the end. */
    List<ServiceProcess> dependents() {
        return Stream.of(gateway, job).filter(java.util.Objects::nonNull).toList();
    }

    /** The gateway's class path as its build wrote it (the HA topology's gateways behind HAProxy). */
    String gatewayClasspath() throws IOException {
        return moduleClasspath(root, "gateway", "csr-gateway", false);
    }

    /** The settings of every gateway (beside its own port): the process settings, short heartbeats, a small replay buffer. */
    Map<String, String> gatewayEnv() {
        Map<String, String> gatewayEnv = new LinkedHashMap<>(settings);
        gatewayEnv.remove("GATEWAY_PORT");
        gatewayEnv.put("STREAM_HEARTBEAT_SECONDS", "2");
        gatewayEnv.put("STREAM_BUFFER_EVENTS", "50");
        gatewayEnv.put("ANALYTICS_REFRESH_SECONDS", "3600");
        return gatewayEnv;
    }

    /** Size of the checkpoint file system: room for the retained checkpoints of a 15-minute soak, small enough to fill. */
    static final String CHECKPOINT_FS_SIZE = "64m";
    private static final String FILLER = "soak-disk-filler";

    /** Mounts a tmpfs of {@value #CHECKPOINT_FS_SIZE} on {@code at}; the reason when it cannot (not root, no mount). */
    private static String mountSmallFs(Path at, Path log) throws InterruptedException {
        if (!isRoot()) {
            return "not root: mount -t tmpfs needs root";
        }
        try {
            run(List.of("mount", "-t", "tmpfs", "-o", "size=" + CHECKPOINT_FS_SIZE + ",mode=0755", "soak-checkpoints", at.toString()), log);
            return null;
        } catch (IOException | IllegalStateException e) {
            return "mount -t tmpfs failed: " + e.getMessage();
        }
    }

    /** Unmounts the checkpoint file system (the end of the soak, after the job stopped). */
    void unmountCheckpointFs() throws IOException, InterruptedException {
        if (checkpointFsUnavailable == null) {
            run(List.of("umount", checkpointDir.toString()), dir.resolve("logs/mount.log"));
        }
    }

    /** Fills the checkpoint file system to the last block; the bytes written (the free space it had). */
    long fillCheckpointFs() throws IOException {
        long written = 0;
        byte[] chunk = new byte[1 << 20];
        try (java.io.OutputStream out = Files.newOutputStream(checkpointDir.resolve(FILLER))) {
            for (int size = chunk.length; size >= 512; size /= 2) {
                try {
                    while (true) {
                        out.write(chunk, 0, size);
                        out.flush();
                        written += size;
                    }
                } catch (IOException full) {
                    // no space left for this size: go on with smaller writes until not even 512 bytes fit
                }
            }
        } catch (IOException closingFull) {
            // closing a full file may fail too; it holds what was written
        }
        return written;
    }

    /** Bytes used on the checkpoint file system apart from the filler: the retained checkpoints. */
    long checkpointBytes() throws IOException {
        java.nio.file.FileStore store = Files.getFileStore(checkpointDir);
        long filler = Files.exists(checkpointDir.resolve(FILLER)) ? Files.size(checkpointDir.resolve(FILLER)) : 0;
        return store.getTotalSpace() - store.getUnallocatedSpace() - filler;
    }

    void freeCheckpointFs() throws IOException {
        Files.deleteIfExists(checkpointDir.resolve(FILLER));
    }

    /**
     * Directories of merges ClickHouse began and has not finished (tmp_merge_*) under the soak's tables: while the
     * server runs, merges in flight; after a kill, the ones it cut. Names only (no stat), as a merge may end meanwhile.
     */
    java.util.Set<String> unfinishedMerges() {
        java.io.File[] tables = dir.resolve("clickhouse/data/data").resolve(settings.get("CLICKHOUSE_DATABASE")).toFile().listFiles();
        java.util.Set<String> out = new java.util.TreeSet<>();
        for (java.io.File t : tables == null ? new java.io.File[0] : tables) {
            String[] names = t.list();
            for (String name : names == null ? new String[0] : names) {
                if (name.startsWith("tmp_merge_")) {
                    out.add(t.getName() + "/" + name);
                }
            }
        }
        return out;
    }

    /** Redis restarted empty: its append-only file goes with the process, as on a machine that lost its disk. */
    void wipeRedis() throws IOException {
        try (Stream<Path> files = Files.walk(dir.resolve("redis"))) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                if (!p.equals(dir.resolve("redis"))) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private void initPostgres(Path pgDir, Path log) throws IOException, InterruptedException {
        Files.createDirectories(pgDir);
        if (isRoot()) {
            // PostgreSQL refuses to run as root: the cluster belongs to user postgres, which must reach the directory
            run(List.of("chown", "-R", "postgres:postgres", pgDir.toString()), log);
        }
        List<String> cmd = new ArrayList<>(asPostgresUser());
        cmd.addAll(List.of(PG_BIN + "/initdb", "-D", pgDir.toString(), "-A", "trust", "-U", "postgres", "--no-sync"));
        run(cmd, log);
    }

    private static String postgresBin() {
        try (Stream<Path> versions = Files.list(Path.of("/usr/lib/postgresql"))) {
            return versions.filter(v -> Files.isExecutable(v.resolve("bin/initdb")))
                    .max(Comparator.comparingInt(v -> Integer.parseInt(v.getFileName().toString().replaceAll("\\D", "0"))))
                    .map(v -> v.resolve("bin").toString())
                    .orElseThrow(() -> new IllegalStateException("no PostgreSQL server under /usr/lib/postgresql: apt-get install -y postgresql"));
        } catch (IOException e) {
            throw new IllegalStateException("no PostgreSQL server under /usr/lib/postgresql (" + e.getMessage() + "): apt-get install -y postgresql", e);
        }
    }

    private static List<String> asPostgresUser() {
        return isRoot() ? List.of("runuser", "-u", "postgres", "--") : List.of();
    }

    private static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    private static long postmasterPid(Path pgDir) {
        try {
            String first = Files.readAllLines(pgDir.resolve("postmaster.pid")).get(0).trim();
            return Long.parseLong(first);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private static void run(List<String> cmd, Path log) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed with " + p.exitValue() + "; see " + log);
        }
    }

    private static String binary(String name) {
        for (String d : List.of("/usr/sbin/", "/usr/bin/", "/usr/local/bin/")) {
            if (Files.isExecutable(Path.of(d + name))) {
                return d + name;
            }
        }
        throw new IllegalStateException(name + " is not installed (looked in /usr/sbin, /usr/bin, /usr/local/bin): "
                + "apt-get install -y " + (name.equals("nats-server") ? "nats-server" : name) + ", then run the soak again");
    }

    /** The module's jar and its runtime class path as its build wrote it (bin/csr's classpath()). */
    static String moduleClasspath(Path root, String module, String artifact, boolean flinkRuntime) throws IOException {
        Path target = root.resolve(module).resolve("target");
        List<Path> parts = new ArrayList<>();
        parts.add(target.resolve(artifact + "-0.1.0-SNAPSHOT.jar"));
        List<String> files = new ArrayList<>(List.of("classpath.txt"));
        if (flinkRuntime) {
            files.add("classpath-runtime.txt");
        }
        for (String f : files) {
            Path cp = target.resolve(f);
            if (!Files.isRegularFile(cp)) {
                throw new IllegalStateException(cp + " is missing: build first (bin/csr build)");
            }
            for (String e : Files.readString(cp).trim().split(java.io.File.pathSeparator)) {
                if (!e.isBlank()) {
                    parts.add(Path.of(e));
                }
            }
        }
        if (!Files.isRegularFile(parts.get(0))) {
            throw new IllegalStateException(parts.get(0) + " is missing: build first (bin/csr build)");
        }
        return ServiceProcess.classpath(parts);
    }

    /** Flink's --add-opens list, kept once in the root pom (flink.jvm.opens), as bin/csr reads it. */
    static List<String> flinkOpens(Path root) throws IOException {
        String pom = Files.readString(root.resolve("pom.xml"));
        int a = pom.indexOf("<flink.jvm.opens>");
        int b = pom.indexOf("</flink.jvm.opens>");
        if (a < 0 || b < a) {
            throw new IllegalStateException("no <flink.jvm.opens> in " + root.resolve("pom.xml"));
        }
        return Arrays.stream(pom.substring(a + "<flink.jvm.opens>".length(), b).trim().split("\\s+")).toList();
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException("no free loopback port: " + e.getMessage(), e);
        }
    }

    static boolean answers(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static boolean httpOk(String url) {
        return httpContains(url, null);
    }

    static boolean httpContains(String url, String needle) {
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(2)).build(),
                    HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 && (needle == null || r.body().contains(needle));
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
