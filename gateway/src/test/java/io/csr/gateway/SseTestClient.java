package io.csr.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.json.Json;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A minimal SSE client over java.net.http: parses frames as they arrive (on a reader thread) so tests can await
 * them; records status, headers and, for non-200 answers, the body.
 */
public final class SseTestClient implements AutoCloseable {
    /** One parsed frame; {@code comment} is set for comment lines (heartbeats). */
    public record Frame(String id, String event, String data, String comment, Integer retry, long receivedAtMillis) {
        public boolean isEvent() {
            return event != null && comment == null;
        }
    }

    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

    public final int status;
    public final Map<String, List<String>> headers;
    public final String errorBody;
    public final List<Frame> frames = new CopyOnWriteArrayList<>();
    private final AtomicBoolean ended = new AtomicBoolean();
    private final InputStream body;
    private final Thread reader;

    private SseTestClient(HttpResponse<InputStream> response) throws IOException {
        this.status = response.statusCode();
        this.headers = response.headers().map();
        this.body = response.body();
        if (status != 200) {
            this.errorBody = new String(body.readAllBytes(), StandardCharsets.UTF_8);
            this.reader = null;
            ended.set(true);
            return;
        }
        this.errorBody = null;
        this.reader = Thread.ofVirtual().start(this::readLoop);
    }

    /** Asserts the stream was refused with {@code status} and the JSON error {@code error}. */
    public void assertRefused(int status, String error) throws IOException {
        assertRefused(status, error, "");
    }

    /** Asserts the stream was refused with {@code status} and the JSON error {@code error}, whose message names {@code inMessage}. */
    public void assertRefused(int status, String error, String inMessage) throws IOException {
        assertThat(this.status).as("status; body: %s", errorBody).isEqualTo(status);
        JsonNode json = Json.mapper().readTree(errorBody);
        assertThat(json.path("error").asText()).as(errorBody).isEqualTo(error);
        assertThat(json.path("message").asText()).contains(inMessage);
    }

    public static SseTestClient open(String url, Map<String, String> headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).GET().header("Accept", "text/event-stream");
        headers.forEach(b::header);
        try {
            return new SseTestClient(HTTP.send(b.build(), HttpResponse.BodyHandlers.ofInputStream()));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public static SseTestClient open(String url) {
        return open(url, Map.of());
    }

    private void readLoop() {
        try {
            parse(body, frames::add);
        } catch (IOException e) {
            // stream ended by the server or by close()
        } finally {
            ended.set(true);
        }
    }

    /** Parses SSE frames from {@code in} until it ends, handing each to {@code sink}. */
    public static void parse(InputStream in, java.util.function.Consumer<Frame> sink) throws IOException {
        BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        String id = null;
        String event = null;
        StringBuilder data = null;
        Integer retry = null;
        String line;
        while ((line = r.readLine()) != null) {
            if (line.isEmpty()) {
                if (event != null || data != null || retry != null) {
                    sink.accept(new Frame(id, event == null ? (data == null ? null : "message") : event,
                            data == null ? null : data.toString(), null, retry, System.currentTimeMillis()));
                }
                id = null;
                event = null;
                data = null;
                retry = null;
            } else if (line.startsWith(":")) {
                sink.accept(new Frame(null, null, null, line.substring(1).trim(), null, System.currentTimeMillis()));
            } else if (line.startsWith("id:")) {
                id = line.substring(3).trim();
            } else if (line.startsWith("event:")) {
                event = line.substring(6).trim();
            } else if (line.startsWith("data:")) {
                data = data == null ? new StringBuilder() : data.append('\n');
                data.append(line.substring(5).trim());
            } else if (line.startsWith("retry:")) {
                retry = Integer.parseInt(line.substring(6).trim());
            }
        }
    }

    public boolean ended() {
        return ended.get();
    }

    public List<Frame> events() {
        List<Frame> out = new ArrayList<>();
        for (Frame f : frames) {
            if (f.isEvent()) {
                out.add(f);
            }
        }
        return out;
    }

    /** Ids of the Contract 3 update events received so far (not reset/close). */
    public List<String> updateIds() {
        List<String> out = new ArrayList<>();
        for (Frame f : events()) {
            if (f.id() != null) {
                out.add(f.id());
            }
        }
        return out;
    }

    public long heartbeats() {
        return frames.stream().filter(f -> "heartbeat".equals(f.comment())).count();
    }

    public String header(String name) {
        return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name)).findFirst()
                .map(e -> e.getValue().get(0)).orElse(null);
    }

    @Override
    public void close() {
        try {
            body.close();
        } catch (IOException ignored) {
            // closing
        }
        if (reader != null) {
            reader.interrupt();
        }
    }
}
