package io.csr.common.redis;

import redis.clients.jedis.commands.KeyCommands;
import redis.clients.jedis.params.ScanParams;
import redis.clients.jedis.resps.ScanResult;

/** Keys of one prefix, e.g. a test's namespace or a benchmark's. */
public final class RedisKeys {
    private RedisKeys() {
    }

    /** Deletes every key that starts with {@code prefix} (SCAN, then DEL per page: no KEYS, no blocking of the server). */
    public static void deleteUnder(KeyCommands redis, String prefix) {
        String cursor = ScanParams.SCAN_POINTER_START;
        do {
            ScanResult<String> page = redis.scan(cursor, new ScanParams().match(prefix + "*").count(500));
            if (!page.getResult().isEmpty()) {
                redis.del(page.getResult().toArray(String[]::new));
            }
            cursor = page.getCursor();
        } while (!cursor.equals(ScanParams.SCAN_POINTER_START));
    }
}
