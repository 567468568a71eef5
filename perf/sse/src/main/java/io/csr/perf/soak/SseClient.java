package io.csr.perf.soak;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;
import io.csr.perf.sse.DevToken;
import io.csr.perf.sse.SseFrameParser;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A dashboard as the soak plays it: one company's SSE stream, reconnecting after every drop with {@code Last-Event-ID}
 * (as {@code EventSource} and csr-stream.js do), repainting from {@code /stream/snapshot} on {@code reset}, and
 * keeping what it was shown — its view per window (the update of the highest version) and every frame id per
 * connection — so the verdict can check it: the view never goes back (repeats of versions not above the one shown,
 * which a job restore publishes again, are dropped as csr-stream.js drops them, and counted; a repeat with other values
 * is reported), ids only go forward, no entry of the company's
 * Redis stream inside a stretch the client was told is contiguous is missing, and the final view equals ClickHouse.
 * <p>
 * Behaviours: {@code NORMAL}; {@code SLOW} reads a few hundred bytes at a time with pauses on a small receive buffer,
 * so the gateway's per-connection buffer overflows and evicts it; {@code RESUMER} drops its connection every ~20 s on
 * purpose and resumes by id.
 */
final class SseClient {
    enum Behaviour { NORMAL, SLOW, RESUMER }

    /** What one connection was shown; {@code from} is the id it resumed after (null: live from its first frame). */
    static final class Segment {
        final String from;
        final boolean afterReset;
        final List<String> ids = new ArrayList<>();

        Segment(String from, boolean afterReset) {
            this.from = from;
            this.afterReset = afterReset;
        }
    }

    /** The newest update of one window (or journey flag) the client applied. */
    record Shown(long version, long count, double sum, boolean isFinal, String id) {
    }

    final String name;
    final String company;
    final Behaviour behaviour;
    private final URI gateway;
    private final Random random;
    private final List<Segment> segments = new ArrayList<>();
    private final Map<String, Shown> view = new HashMap<>();
    private final List<String> violations = new ArrayList<>();
    private Segment current;
    private String lastId;
    private volatile boolean stop;
    private volatile boolean slowNow;
    private volatile Socket socket;
    private volatile long lastFrameNanos;
    private int connections;
    private int resets;
    private int snapshots;
    private long frames;
    private long staleFrames;
    private final List<String> versionConflicts = new ArrayList<>();
    private long versionConflictCount;
    private Thread thread;

    SseClient(String name, String company, Behaviour behaviour, URI gateway, long seed) {
        this.name = name;
        this.company = company;
        this.behaviour = behaviour;
        this.gateway = gateway;
        this.random = new Random(seed);
        this.slowNow = behaviour == Behaviour.SLOW;
    }

    void start() {
        thread = Thread.ofPlatform().daemon(true).name("soak-sse-" + name).start(this::loop);
    }

    /** The settle phase: a slow client reads at full speed, so it can catch up. */
    void catchUp() {
        slowNow = false;
    }

    void stop() throws InterruptedException {
        stop = true;
        Socket s = socket;
        if (s != null) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        if (thread != null) {
            thread.join(10_000);
        }
    }

    synchronized String lastId() {
        return lastId;
    }

    synchronized long frames() {
        return frames;
    }

    long lastFrameNanos() {
        return lastFrameNanos;
    }

    synchronized int connections() {
        return connections;
    }

    /** Frames not above the version shown (repeats after a job restore), dropped as csr-stream.js drops them. */
    synchronized long staleFrames() {
        return staleFrames;
    }

    /** Repeats of a version shown with other values: each is a violation (see {@link #apply}). */
    synchronized List<String> versionConflicts() {
        return List.copyOf(versionConflicts);
    }

    synchronized long versionConflictCount() {
        return versionConflictCount;
    }

    synchronized int resets() {
        return resets;
    }

    synchronized List<Segment> segments() {
        return List.copyOf(segments);
    }

    synchronized Map<String, Shown> view() {
        return Map.copyOf(view);
    }

    synchronized List<String> violations() {
        return List.copyOf(violations);
    }

    /** Sum of the counts the client shows for one metric's 1-minute windows (the probe's recovery measure). */
    synchronized long shownCount(String metric) {
        long total = 0;
        for (Map.Entry<String, Shown> e : view.entrySet()) {
            if (e.getKey().startsWith(metric + "|1m|")) {
                total += e.getValue().count();
            }
        }
        return total;
    }

    private void loop() {
        while (!stop) {
            try {
                connectOnce();
            } catch (IOException | RuntimeException e) {
                // dropped, refused, evicted: reconnect after a pause like EventSource's retry (shorter, to measure recovery)
            }
            if (stop) {
                return;
            }
            try {
                Thread.sleep(300 + random.nextInt(400));
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void connectOnce() throws IOException {
        String resumeFrom;
        synchronized (this) {
            resumeFrom = lastId;
            connections++;
            current = null;
        }
        try (Socket s = new Socket()) {
            socket = s;
            if (slowNow) {
                s.setReceiveBufferSize(4096);
            }
            s.connect(new InetSocketAddress(gateway.getHost(), gateway.getPort()), 2000);
            s.setSoTimeout(10_000); // heartbeats come every 2 s: silence this long is a dead connection
            OutputStream out = s.getOutputStream();
            String token = DevToken.forCompany(DevToken.secretFromEnvironment(), company);
            out.write(("GET /stream/updates?companyId=" + company + " HTTP/1.1\r\nHost: " + gateway.getHost() + ":" + gateway.getPort()
                    + "\r\nAccept: text/event-stream\r\nAuthorization: Bearer " + token + "\r\n"
                    + (resumeFrom == null ? "" : "Last-Event-ID: " + resumeFrom + "\r\n") + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            int[] status = {0};
            SseFrameParser parser = new SseFrameParser(new SseFrameParser.Listener() {
                @Override
                public void onStatus(int code) {
                    status[0] = code;
                    if (code == 200) {
                        synchronized (SseClient.this) {
                            current = new Segment(resumeFrom, false);
                            segments.add(current);
                        }
                    }
                }

                @Override
                public void onEvent(String id, String event, String data) {
                    onFrame(id, event, data);
                }

                @Override
                public void onComment(String comment) {
                }
            });
            long dropAt = behaviour == Behaviour.RESUMER ? System.nanoTime() + (15_000L + random.nextInt(10_000)) * 1_000_000L : Long.MAX_VALUE;
            byte[] buf = new byte[16 * 1024];
            InputStream in = s.getInputStream();
            while (!stop) {
                int len = in.read(buf, 0, slowNow ? 256 : buf.length);
                if (len <= 0) {
                    return;
                }
                parser.feed(buf, 0, len);
                if (status[0] != 0 && status[0] != 200) {
                    return;
                }
                if (slowNow) {
                    Thread.sleep(40);
                }
                if (System.nanoTime() > dropAt) {
                    return; // the resumer's own drop: reconnect with Last-Event-ID
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            socket = null;
        }
    }

    /** One SSE frame as the parser delivers it (package-private for tests). */
    void onFrame(String id, String event, String data) {
        if ("reset".equals(event)) {
            synchronized (this) {
                resets++;
                current = new Segment(null, true);
                segments.add(current);
            }
            repaintFromSnapshot();
            return;
        }
        if ("close".equals(event) || id == null) {
            return;
        }
        JsonNode n;
        try {
            n = Json.mapper().readTree(data);
        } catch (IOException e) {
            synchronized (this) {
                violations.add("unparseable data in frame " + id + ": " + data);
            }
            return;
        }
        synchronized (this) {
            frames++;
            lastFrameNanos = System.nanoTime();
            if (current == null) {
                current = new Segment(lastId, false);
                segments.add(current);
            }
            String before = current.ids.isEmpty() ? current.from : current.ids.get(current.ids.size() - 1);
            if (before != null && compareIds(id, before) <= 0) {
                violations.add("frame id " + id + " not after " + before + " (connection " + connections + ")");
            }
            current.ids.add(id);
            lastId = id;
            apply(keyOf(event, n), n, id);
        }
    }

    private static String keyOf(String event, JsonNode n) {
        if ("journey_flag_updated".equals(event)) {
            return "journey|" + n.path("flag").asText();
        }
        return n.path("metric").asText() + "|" + n.path("window").asText() + "|" + n.path("windowStart").asText();
    }

    private void apply(String key, JsonNode n, String id) {
        long version = n.path("version").asLong();
        // a journey update's value is its usersFlagged, a window's its count and sum
        long count = n.has("usersFlagged") ? n.path("usersFlagged").asLong() : n.path("count").asLong();
        double sum = n.path("sum").asDouble();
        Shown old = view.get(key);
        if (old != null && version < old.version()) {
            // after the job restored a checkpoint it publishes the updates since then again (docs/streaming.md): a
            // client drops what is not above what it shows, as csr-stream.js does, so its view never goes back
            staleFrames++;
            return;
        }
        if (old != null && version == old.version() && !"snapshot".equals(old.id())
                && (count != old.count() || Math.abs(sum - old.sum()) > 1e-6 * Math.max(1, Math.abs(sum)))) {
            // one version is one value: a client drops repeats by version, so a version published again with other
            // values (a replay after a job restore that reached the count with other events) would leave it showing
            // a value the system no longer holds at that version
            staleFrames++;
            String conflict = key + ": version " + version + " shown with count " + old.count() + " sum " + old.sum()
                    + " (frame " + old.id() + "), published again with count " + count + " sum " + sum + " (frame " + id + ")";
            if (versionConflicts.size() < 20) {
                versionConflicts.add(conflict);
                violations.add(conflict);
            }
            versionConflictCount++;
            return;
        }
        if (old != null && version == old.version()) {
            staleFrames++;
            return;
        }
        view.put(key, new Shown(version, count, sum, n.path("final").asBoolean(), id));
    }

    private void repaintFromSnapshot() {
        try {
            HttpResponse<String> r = OwnServices.HTTP.send(HttpRequest.newBuilder(URI.create("http://" + gateway.getHost() + ":"
                            + gateway.getPort() + "/stream/snapshot?companyId=" + company))
                    .header("Authorization", "Bearer " + DevToken.forCompany(DevToken.secretFromEnvironment(), company))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                return;
            }
            JsonNode snap = Json.mapper().readTree(r.body());
            synchronized (this) {
                snapshots++;
                for (JsonNode m : snap.path("metrics")) {
                    String key = keyOf("metric_updated", m);
                    Shown old = view.get(key);
                    // a snapshot is a repaint: an older value than the one shown is not applied (it is no violation)
                    if (old == null || m.path("version").asLong() > old.version()) {
                        view.put(key, new Shown(m.path("version").asLong(), m.path("count").asLong(), m.path("sum").asDouble(),
                                m.path("final").asBoolean(), "snapshot"));
                    }
                }
            }
        } catch (IOException e) {
            // the gateway went away mid-repaint: the next reset or the final check shows what is missing
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Redis stream ids "ms-seq", compared as numbers. */
    static int compareIds(String a, String b) {
        int da = a.indexOf('-');
        int db = b.indexOf('-');
        int c = Long.compare(Long.parseLong(a.substring(0, da)), Long.parseLong(b.substring(0, db)));
        return c != 0 ? c : Long.compare(Long.parseLong(a.substring(da + 1)), Long.parseLong(b.substring(db + 1)));
    }
}
