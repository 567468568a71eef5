package io.csr.perf.e2e;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Which published events a {@code metric_updated} frame delivers. Frames carry absolute values, so a frame of window
 * (company, metric, minute) with {@code count = k} delivers every event of that window up to the k-th, each only the
 * first time (a repeat or an older frame delivers nothing). Events of the warm-up are tracked (they count towards k)
 * but not reported.
 */
final class WindowDeliveries {
    /** A delivered event: when it was published (monotonic nanos and wall-clock millis). */
    record Published(long nanos, long wallMs) {
    }

    private static final class Window {
        final List<Published> events = new ArrayList<>();
        final List<Boolean> measured = new ArrayList<>();
        int delivered;
    }

    private final Map<String, Window> windows = new HashMap<>();

    static long minuteOf(long wallMs) {
        return wallMs - Math.floorMod(wallMs, 60_000L);
    }

    synchronized void published(String company, String metric, long wallMs, long nanos, boolean measured) {
        Window w = windows.computeIfAbsent(key(company, metric, minuteOf(wallMs)), k -> new Window());
        w.events.add(new Published(nanos, wallMs));
        w.measured.add(measured);
    }

    /** The measured events this frame delivers for the first time (empty for an unknown window or a stale frame). */
    synchronized List<Published> frame(String company, String metric, long windowStartMs, long count) {
        Window w = windows.get(key(company, metric, windowStartMs));
        if (w == null) {
            return List.of();
        }
        int upTo = (int) Math.min(count, w.events.size());
        List<Published> out = new ArrayList<>();
        for (int j = w.delivered; j < upTo; j++) {
            if (w.measured.get(j)) {
                out.add(w.events.get(j));
            }
        }
        w.delivered = Math.max(w.delivered, upTo);
        return out;
    }

    private static String key(String company, String metric, long windowStartMs) {
        return company + "|" + metric + "|" + windowStartMs;
    }
}
