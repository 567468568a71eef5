package io.csr.common.contract;

import java.time.Duration;
import java.util.regex.Pattern;

/**
 * Contract 3's transport between the job and the gateway: one Redis stream per company,
 * {@code <REDIS_KEY_PREFIX>updates:<companyId>}, entries {@code type=<event type>} and {@code data=<one-line JSON>},
 * written with {@code XADD … MINID ~ <now-24h> * type … data …}. The Redis entry id is the SSE {@code id}
 * (increasing per company), so replay is an {@code XRANGE} of that company's stream only.
 */
public final class RedisStreams {
    public static final String FIELD_TYPE = "type";
    public static final String FIELD_DATA = "data";
    public static final Duration RETENTION = Duration.ofHours(24);
    private static final Pattern COMPANY_ID = Pattern.compile("[A-Za-z0-9_-]{1,64}");

    private RedisStreams() {
    }

    public static String updatesKey(String keyPrefix, String companyId) {
        if (companyId == null || !COMPANY_ID.matcher(companyId).matches()) {
            throw new IllegalArgumentException("companyId '" + companyId + "' does not match [A-Za-z0-9_-]{1,64}");
        }
        return keyPrefix + "updates:" + companyId;
    }

    /** The company id of an updates key, or null when the key is not one. */
    public static String companyOf(String keyPrefix, String key) {
        String head = keyPrefix + "updates:";
        return key.startsWith(head) ? key.substring(head.length()) : null;
    }
}
