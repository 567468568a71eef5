package io.csr.perf.replay;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The failover check's verdict: after a gateway was killed under load, every stream's event ids are exactly the ids
 * published for its company (none missing, none twice, in order: the replay checker found no gap and no repeat, and no
 * {@code reset}), and every stream the kill cut off resumed; with how long that took.
 * <p>
 * A cut-off stream (one that connected again after the kill) has <em>resumed</em> once it is connected again and has
 * every event published for its company before the kill; its resume time runs from the kill to then. Streams on the
 * surviving gateways stay connected (affinity by company moves only the killed gateway's companies); how many moved is
 * reported, not judged.
 */
final class FailoverVerdict {
    private static final int EXAMPLES = 5;

    /**
     * What one stream saw: its ids in arrival order, when each arrived, when each connection was answered 200, when it
     * asked for each connection and when it saw each one end.
     */
    record Stream(String company, List<String> ids, long[] receivedAtNanos, List<Long> connectedAtNanos, List<Long> requestedAtNanos,
                  List<Long> droppedAtNanos, long gaps, long repeats, int resets, int refusals) {
        Stream(String company, List<String> ids, long[] receivedAtNanos, List<Long> connectedAtNanos, long gaps, long repeats,
               int resets, int refusals) {
            this(company, ids, receivedAtNanos, connectedAtNanos, List.of(), List.of(), gaps, repeats, resets, refusals);
        }
    }

    private FailoverVerdict() {
    }

    /**
     * @param published       the ids published per company, in order
     * @param publishedAtKill per company, how many of them were published before the kill
     * @param killAtNanos     {@link System#nanoTime()} just before the kill
     */
    static Map<String, Object> of(List<Stream> streams, Map<String, List<String>> published, Map<String, Integer> publishedAtKill,
                                  long killAtNanos) {
        List<String> examples = new ArrayList<>();
        int notExact = 0;
        int withGaps = 0;
        int withRepeats = 0;
        int withResets = 0;
        int moved = 0;
        int notResumed = 0;
        List<Double> reconnectMs = new ArrayList<>();
        List<Double> resumeMs = new ArrayList<>();
        List<Double> catchUpMs = new ArrayList<>();
        List<Double> droppedMs = new ArrayList<>();
        List<Double> answeredMs = new ArrayList<>();
        List<Double> attempts = new ArrayList<>();
        java.util.Set<String> movedCompanies = new java.util.TreeSet<>();
        for (Stream s : streams) {
            List<String> expected = published.getOrDefault(s.company(), List.of());
            if (!s.ids().equals(expected)) {
                notExact++;
                if (examples.size() < EXAMPLES) {
                    examples.add(difference(s, expected));
                }
            }
            withGaps += s.gaps() > 0 ? 1 : 0;
            withRepeats += s.repeats() > 0 ? 1 : 0;
            withResets += s.resets() > 0 ? 1 : 0;
            Long reconnect = s.connectedAtNanos().stream().filter(t -> t > killAtNanos).findFirst().orElse(null);
            if (reconnect == null) {
                continue;
            }
            moved++;
            movedCompanies.add(s.company());
            reconnectMs.add((reconnect - killAtNanos) / 1e6);
            s.droppedAtNanos().stream().filter(t -> t > killAtNanos).findFirst().ifPresent(t -> droppedMs.add((t - killAtNanos) / 1e6));
            attempts.add((double) s.requestedAtNanos().stream().filter(t -> t > killAtNanos && t < reconnect).count());
            // the request that was answered by the reconnect: the last one asked before it
            s.requestedAtNanos().stream().filter(t -> t > killAtNanos && t < reconnect).reduce((a, b) -> b)
                    .ifPresent(t -> answeredMs.add((reconnect - t) / 1e6));
            int before = publishedAtKill.getOrDefault(s.company(), 0);
            if (before == 0) {
                resumeMs.add((reconnect - killAtNanos) / 1e6);
            } else if (s.ids().size() >= before) {
                long resumedAt = Math.max(reconnect, s.receivedAtNanos()[before - 1]);
                resumeMs.add((resumedAt - killAtNanos) / 1e6);
                catchUpMs.add((resumedAt - reconnect) / 1e6);
            } else {
                notResumed++;
            }
        }
        Map<String, Object> lost = new LinkedHashMap<>();
        lost.put("streamsNotExact", notExact);
        lost.put("streamsWithGaps", withGaps);
        lost.put("streamsWithRepeats", withRepeats);
        lost.put("streamsWithResets", withResets);
        lost.put("movedStreamsNotResumed", notResumed);
        // a kill that cut no stream tested nothing
        lost.put("noStreamMoved", moved == 0 ? 1 : 0);
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("complete", !streams.isEmpty() && lost.values().stream().allMatch(v -> ((Integer) v) == 0));
        row.put("lost", lost);
        row.put("streams", streams.size());
        row.put("movedStreams", moved);
        row.put("movedCompanies", movedCompanies.size());
        row.put("eventsPublished", published.values().stream().mapToLong(List::size).sum());
        row.put("eventsReceived", streams.stream().mapToLong(s -> s.ids().size()).sum());
        row.put("refusalsSeen", streams.stream().mapToLong(Stream::refusals).sum());
        // the reconnect, in parts: the kill until the stream saw its connection end, then the client's retry wait, then
        // its request until the answer 200 (through the balancer, from a surviving gateway)
        row.put("reconnectMs", percentiles(reconnectMs));
        row.put("dropSeenMs", percentiles(droppedMs));
        row.put("requestToAnswerMs", percentiles(answeredMs));
        // connection attempts from the kill to the reconnect (1: the first went through; more: it failed, then retry again)
        row.put("attemptsToReconnect", percentiles(attempts));
        row.put("resumeMs", percentiles(resumeMs));
        // the part of the resume after the reconnect: the replay of what the stream missed (the rest is the client's retry)
        row.put("catchUpAfterReconnectMs", percentiles(catchUpMs));
        row.put("allResumedMs", resumeMs.isEmpty() || notResumed > 0 ? null : round(resumeMs.stream().mapToDouble(d -> d).max().orElseThrow()));
        row.put("examples", examples);
        return row;
    }

    /** Where a stream's ids first differ from its company's published ids, in words. */
    static String difference(Stream s, List<String> expected) {
        List<String> got = s.ids();
        int i = 0;
        while (i < got.size() && i < expected.size() && got.get(i).equals(expected.get(i))) {
            i++;
        }
        String at = i < got.size() && i < expected.size() ? "expected " + expected.get(i) + ", got " + got.get(i)
                : i < expected.size() ? "expected " + expected.get(i) + ", got nothing more" : "got " + got.get(i) + " beyond the published";
        return "a stream of " + s.company() + ": " + got.size() + " ids for " + expected.size() + " published, first difference at #"
                + i + " (" + at + "), " + s.gaps() + " missing and " + s.repeats() + " repeated by sequence, "
                + s.connectedAtNanos().size() + " connects, " + s.resets() + " resets";
    }

    private static Map<String, Double> percentiles(List<Double> values) {
        if (values.isEmpty()) {
            return null;
        }
        List<Double> sorted = values.stream().sorted().toList();
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("p50", round(sorted.get((int) Math.floor(0.5 * (sorted.size() - 1)))));
        m.put("p99", round(sorted.get((int) Math.floor(0.99 * (sorted.size() - 1)))));
        m.put("max", round(sorted.get(sorted.size() - 1)));
        return m;
    }

    private static double round(double v) {
        return Math.round(v * 10) / 10.0;
    }
}
