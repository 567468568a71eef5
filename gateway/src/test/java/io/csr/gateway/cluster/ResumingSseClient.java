package io.csr.gateway.cluster;

import io.csr.common.net.Reconnecting;
import io.csr.gateway.SseTestClient;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An SSE client that behaves as {@code EventSource} does behind a load balancer: it reconnects after the server's
 * {@code retry} (or after {@code Retry-After} when refused with 429/503) with {@code Last-Event-ID}, for as long as it
 * runs. It records every update id it was sent, in order, and every {@code reset} (a gap the server admits to), so a
 * test can check no id is missing and none came twice.
 */
final class ResumingSseClient implements AutoCloseable {
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    final String companyId;
    final List<String> ids = new CopyOnWriteArrayList<>();
    final List<String> resets = new CopyOnWriteArrayList<>();
    final List<String> closes = new CopyOnWriteArrayList<>();
    final List<Integer> refusals = new CopyOnWriteArrayList<>();
    final AtomicInteger connects = new AtomicInteger();
    private final String url;
    private final Reconnecting loop;
    private volatile boolean streaming;
    private volatile InputStream current;
    private volatile int retryMillis = 3000;

    ResumingSseClient(String baseUrl, String companyId, String token) {
        this.companyId = companyId;
        this.url = baseUrl + "/stream/updates?companyId=" + companyId + "&access_token=" + token;
        this.loop = new Reconnecting(Thread.ofVirtual().name("sse-" + companyId).factory(), this::connectAndRead, () -> retryMillis);
    }

    /** Connected and past the first frame at least once. */
    boolean streaming() {
        return streaming;
    }

    /** One connection, read until it ends; the wait before the next: the server's retry, or its Retry-After when refused. */
    private long connectAndRead() throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).header("Accept", "text/event-stream");
        if (!ids.isEmpty()) {
            b.header("Last-Event-ID", ids.get(ids.size() - 1));
        }
        HttpResponse<InputStream> res = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream in = res.body()) {
            if (res.statusCode() != 200) {
                refusals.add(res.statusCode());
                in.readAllBytes();
                return res.headers().firstValue("Retry-After").map(s -> Long.parseLong(s) * 1000).orElse(1000L);
            }
            connects.incrementAndGet();
            current = in;
            SseTestClient.parse(in, f -> {
                if (f.retry() != null) {
                    retryMillis = f.retry();
                    streaming = true;
                }
                if ("reset".equals(f.event())) {
                    resets.add(f.data());
                } else if ("close".equals(f.event())) {
                    closes.add(f.data());
                } else if (f.id() != null && f.event() != null) {
                    ids.add(f.id());
                }
            });
            return retryMillis;
        }
    }

    @Override
    public void close() {
        loop.stop(current);
    }
}
