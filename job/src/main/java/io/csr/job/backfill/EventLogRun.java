package io.csr.job.backfill;

import io.csr.common.postgres.PostgresSettings;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/** What the backfill and bootstrap commands share around their job: the row count, progress lines, cleanup. */
public final class EventLogRun {
    private EventLogRun() {
    }

    /** Rows of {@code event_log} the range covers (the progress total). */
    public static long count(PostgresSettings postgres, BackfillRange range) throws Exception {
        try (Connection c = postgres.connectUnchecked(); PreparedStatement ps = c.prepareStatement(range.countSql())) {
            ps.setObject(1, range.start().atOffset(ZoneOffset.UTC));
            ps.setObject(2, range.end().atOffset(ZoneOffset.UTC));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /** "read N / M rows (p%), r rows/s, ETA s" from {@link BackfillProgress}. */
    public static void progress(long total, long startedNanos) {
        long read = Math.min(BackfillProgress.read(), total);
        double secs = Math.max(0.001, (System.nanoTime() - startedNanos) / 1e9);
        double rate = read / secs;
        String eta = rate > 0 && read < total ? String.format(Locale.ROOT, ", ETA %.0f s", (total - read) / rate) : "";
        say(String.format(Locale.ROOT, "  read %,d / %,d rows (%.1f%%), %,.0f rows/s%s", read, total,
                total == 0 ? 100.0 : 100.0 * read / total, rate, eta));
    }

    /** Removes a work directory; says so instead of failing when it cannot. */
    public static void deleteRecursively(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (var walk = Files.walk(root)) {
            List<Path> paths = new ArrayList<>(walk.toList());
            Collections.reverse(paths);
            for (Path p : paths) {
                Files.deleteIfExists(p);
            }
        } catch (Exception e) {
            say("note: could not remove " + root + " (" + e.getMessage() + "); remove it by hand");
        }
    }

    public static void say(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
