package io.csr.common.contract;

import java.time.Duration;
import java.util.regex.Pattern;

/**
 * Contract 3's transport between the job and the gateway: one Redis stream per company,
 * {@code <REDIS_KEY_PREFIX>updates:{<companyId>}}, entries {@code type=<event type>} and {@code data=<one-line JSON>},
 * written with {@code XADD … MINID ~ <now - REDIS_STREAM_RETENTION_HOURS> * type … data …} (and {@code XTRIM MAXLEN ~}
 * when REDIS_STREAM_MAXLEN is set). The Redis entry id is the SSE {@code id} (increasing per company), so replay is an
 * {@code XRANGE} of that company's stream only.
 *
 * <p>The company id is the key's hash tag: on a Redis Cluster a company's stream (and any other key of that company,
 * e.g. {@link #lostKey}) is in one slot, so a command never spans slots (no CROSSSLOT) and a company's entries keep
 * one order. On a single Redis the braces are just characters.
 */
public final class RedisStreams {
    public static final String FIELD_TYPE = "type";
    public static final String FIELD_DATA = "data";
    /** Contract 3's default history (REDIS_STREAM_RETENTION_HOURS). */
    public static final Duration RETENTION = Duration.ofHours(24);
    private static final Pattern COMPANY_ID = Pattern.compile("[A-Za-z0-9_-]{1,64}");

    private RedisStreams() {
    }

    public static String updatesKey(String keyPrefix, String companyId) {
        if (companyId == null || !COMPANY_ID.matcher(companyId).matches()) {
            throw new IllegalArgumentException("companyId '" + companyId + "' does not match [A-Za-z0-9_-]{1,64}");
        }
        return keyPrefix + "updates:{" + companyId + "}";
    }

    /**
     * The company's record of update ids a failover lost ({@code <prefix>lost:{<companyId>}}, a hash from the first
     * lost id to the last, same slot as its stream): an id in one of these ranges may have been issued again by the
     * new master for a different entry, so a client resuming from it gets {@code reset}, not that entry.
     */
    public static String lostKey(String keyPrefix, String companyId) {
        updatesKey(keyPrefix, companyId); // validates the id
        return keyPrefix + "lost:{" + companyId + "}";
    }

    /** The company id of an updates key, or null when the key is not one. */
    public static String companyOf(String keyPrefix, String key) {
        String head = keyPrefix + "updates:{";
        return key.startsWith(head) && key.endsWith("}") ? key.substring(head.length(), key.length() - 1) : null;
    }
}
