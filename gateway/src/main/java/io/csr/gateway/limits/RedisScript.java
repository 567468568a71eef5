package io.csr.gateway.limits;

import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisNoScriptException;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A Lua script shipped under {@code src/main/resources/redis/} (each one documents its keys and arguments), run by its
 * SHA-1 and sent whole only when Redis does not know it yet (after a restart or a failover). Every script touches one
 * key, so it runs unchanged on a Redis Cluster.
 */
public final class RedisScript {
    private final String name;
    private final String source;
    private volatile String sha;

    private RedisScript(String name, String source) {
        this.name = name;
        this.source = source;
    }

    /** The script {@code redis/<name>.lua} of the classpath. */
    public static RedisScript load(String name) {
        String path = "redis/" + name + ".lua";
        try (InputStream in = RedisScript.class.getClassLoader().getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException("Lua script " + path + " is missing from the gateway's classpath");
            }
            return new RedisScript(name, new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path, e);
        }
    }

    public String name() {
        return name;
    }

    /** Runs the script on one key; the answer as Redis gave it (a Long for our scripts). */
    public Object run(UnifiedJedis jedis, String key, List<String> args) {
        String known = sha;
        if (known != null) {
            try {
                return jedis.evalsha(known, List.of(key), args);
            } catch (JedisNoScriptException e) {
                // Redis restarted or failed over, or (on a cluster) this key's node has not seen it: load it below
            }
        }
        sha = jedis.scriptLoad(source, key); // on the node that holds the key
        return jedis.evalsha(sha, List.of(key), args);
    }
}
