package io.csr.ops.bench;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;

/** The UTC time a result file is named for: 2026-12-06T18-32-29Z. */
final class Stamp {
    private static final DateTimeFormatter FORMAT = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH-mm-ss'Z'").withZone(ZoneOffset.UTC);

    private Stamp() {
    }

    static String now() {
        return FORMAT.format(Instant.now().truncatedTo(ChronoUnit.SECONDS));
    }
}
