package io.csr.common.redis;

import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import redis.clients.jedis.Connection;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.RedisClusterClient;
import redis.clients.jedis.RedisSentinelClient;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisConnectionException;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URLDecoder;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where the live-update streams live, as {@code REDIS_URL} says, and the one way the job and the gateway build a
 * client for it. Three deployments, one code path above this class (every caller talks to a {@link UnifiedJedis}):
 * <ul>
 *   <li>{@code redis://[user:pass@]host:port[/db]} (or {@code rediss://}): one Redis, the default;</li>
 *   <li>{@code redis-cluster://[user:pass@]host:port,host:port,…}: a Redis Cluster, any subset of its nodes as seeds;
 *       keys are hash-tagged per company ({@code RedisStreams.updatesKey}) so one company is one slot;</li>
 *   <li>{@code redis-sentinel://[user:pass@]host:port,host:port,…/<master name>[/db]}: one master with replicas,
 *       managed by Sentinel; the client follows the master Sentinel names.</li>
 * </ul>
 * Clients are not retried here beyond what Jedis does: waiting for a failover is the caller's bounded loop
 * (REDIS_FAILOVER_WAIT_MS), so that the bound is visible where the waiting happens.
 */
public final class RedisEndpoint {
    public enum Mode { STANDALONE, CLUSTER, SENTINEL }

    private static final Pattern SIMPLE = Pattern.compile("(rediss?)://(?:([^@/]*)@)?([^/:@,]+):(\\d{1,5})(?:/(\\d{1,3}))?/?");
    private static final Pattern MULTI = Pattern.compile("(redis-cluster|redis-sentinel)://(?:([^@/]*)@)?([^/@]+)(?:/([A-Za-z0-9._-]+))?(?:/(\\d{1,3}))?/?");
    private static final Pattern HOST_PORT = Pattern.compile("([^:,\\s]+):(\\d{1,5})");

    private final Mode mode;
    private final List<HostAndPort> nodes;
    private final String user;
    private final String password;
    private final int database;
    private final boolean ssl;
    private final String masterName;
    private final String url;

    private RedisEndpoint(Mode mode, List<HostAndPort> nodes, String user, String password, int database, boolean ssl,
                          String masterName, String url) {
        this.mode = mode;
        this.nodes = List.copyOf(nodes);
        this.user = user;
        this.password = password;
        this.database = database;
        this.ssl = ssl;
        this.masterName = masterName;
        this.url = url;
    }

    /** Parses REDIS_URL; a value of none of the three forms is an error naming the forms. */
    public static RedisEndpoint parse(String url) {
        if (url == null || url.isBlank()) {
            throw new IllegalArgumentException("REDIS_URL is empty; set it to e.g. redis://127.0.0.1:6379");
        }
        String u = url.strip();
        Matcher s = SIMPLE.matcher(u);
        if (s.matches()) {
            String[] creds = credentials(s.group(2));
            int db = s.group(5) == null ? 0 : Integer.parseInt(s.group(5));
            return new RedisEndpoint(Mode.STANDALONE, List.of(hostAndPort(s.group(3), s.group(4), url)), creds[0], creds[1], db,
                    "rediss".equals(s.group(1)), null, u);
        }
        Matcher m = MULTI.matcher(u);
        if (m.matches()) {
            boolean cluster = "redis-cluster".equals(m.group(1));
            List<HostAndPort> nodes = new ArrayList<>();
            for (String part : m.group(3).split(",")) {
                Matcher hp = HOST_PORT.matcher(part.strip());
                if (!hp.matches()) {
                    throw new IllegalArgumentException("REDIS_URL '" + redact(u) + "': '" + part + "' is not host:port");
                }
                nodes.add(hostAndPort(hp.group(1), hp.group(2), url));
            }
            String[] creds = credentials(m.group(2));
            if (cluster) {
                if (m.group(4) != null || m.group(5) != null) {
                    throw new IllegalArgumentException("REDIS_URL '" + redact(u) + "': a Redis Cluster has no database or master name; "
                            + "use redis-cluster://host:port,host:port");
                }
                return new RedisEndpoint(Mode.CLUSTER, nodes, creds[0], creds[1], 0, false, null, u);
            }
            if (m.group(4) == null) {
                throw new IllegalArgumentException("REDIS_URL '" + redact(u) + "' names no master; use "
                        + "redis-sentinel://host:port,host:port/<master name>[/db]");
            }
            int db = m.group(5) == null ? 0 : Integer.parseInt(m.group(5));
            return new RedisEndpoint(Mode.SENTINEL, nodes, creds[0], creds[1], db, false, m.group(4), u);
        }
        throw new IllegalArgumentException("REDIS_URL '" + redact(u) + "' must look like redis://host:port[/db], "
                + "redis-cluster://host:port,host:port,… or redis-sentinel://host:port,…/<master name>");
    }

    private static HostAndPort hostAndPort(String host, String port, String url) {
        int p = Integer.parseInt(port);
        if (p < 1 || p > 65535) {
            throw new IllegalArgumentException("REDIS_URL '" + redact(url) + "': port " + p + " is out of range");
        }
        return new HostAndPort(host, p);
    }

    private static String[] credentials(String userInfo) {
        if (userInfo == null || userInfo.isEmpty()) {
            return new String[] {null, null};
        }
        int colon = userInfo.indexOf(':');
        if (colon < 0) {
            return new String[] {null, decode(userInfo)};
        }
        String user = userInfo.substring(0, colon);
        return new String[] {user.isEmpty() ? null : decode(user), decode(userInfo.substring(colon + 1))};
    }

    private static String decode(String s) {
        return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }

    public Mode mode() {
        return mode;
    }

    public boolean cluster() {
        return mode == Mode.CLUSTER;
    }

    public List<HostAndPort> nodes() {
        return nodes;
    }

    public int database() {
        return database;
    }

    public String masterName() {
        return masterName;
    }

    /** The URL without its password, for messages and logs. */
    public String redacted() {
        return redact(url);
    }

    public static String redact(String url) {
        return url == null ? "null" : url.replaceAll("//([^:@/]*):[^@/]*@", "//$1:***@");
    }

    /**
     * A client for this endpoint: pooled connections (at most {@code maxConnections} per node), the given connect and
     * socket timeout, and {@code clientName} on every connection (CLIENT LIST shows who is who). A cluster client
     * retries a command through a redirection or a failed node for at most {@code timeoutMs} in all; the caller
     * owns the client and closes it.
     */
    public UnifiedJedis open(String clientName, int timeoutMs, int maxConnections) {
        GenericObjectPoolConfig<Connection> pool = new GenericObjectPoolConfig<>();
        pool.setMaxTotal(maxConnections);
        pool.setMaxIdle(maxConnections);
        pool.setTestOnBorrow(false);
        pool.setJmxEnabled(false);
        JedisClientConfig config = clientConfig(clientName, timeoutMs, database);
        return switch (mode) {
            case STANDALONE -> RedisClient.builder().hostAndPort(nodes.get(0)).clientConfig(config).poolConfig(pool).build();
            case CLUSTER -> RedisClusterClient.builder().nodes(new LinkedHashSet<>(nodes)).clientConfig(config).poolConfig(pool)
                    .maxAttempts(3).maxTotalRetriesDuration(Duration.ofMillis(timeoutMs))
                    // a promoted replica is found within a second even by pipelines, which do not follow redirections
                    .topologyRefreshPeriod(Duration.ofSeconds(1)).build();
            case SENTINEL -> RedisSentinelClient.builder().masterName(masterName).sentinels(new LinkedHashSet<>(nodes))
                    .clientConfig(config).sentinelClientConfig(clientConfig(clientName + "-sentinel", timeoutMs, 0))
                    .poolConfig(pool).build();
        };
    }

    /**
     * One plain connection, not pooled, to the one Redis or to the master the sentinels name now — for a reader that
     * blocks on it and pipelines by hand. A Redis Cluster has no one node to hold: use {@link #open} there.
     */
    public Jedis openDirect(String clientName, int timeoutMs) {
        HostAndPort target = switch (mode) {
            case STANDALONE -> nodes.get(0);
            case SENTINEL -> currentMaster(timeoutMs);
            case CLUSTER -> throw new IllegalStateException("a Redis Cluster (" + redacted() + ") has no one node to read from; use open()");
        };
        JedisClientConfig config = clientConfig(clientName, timeoutMs, database);
        return ssl ? new Jedis(target, config) : new Jedis(() -> channelSocket(target, timeoutMs), config);
    }

    /**
     * A plain socket for {@link #openDirect}, connected within {@code timeoutMs}: a {@link SocketChannel}'s socket
     * rather than the {@code new Socket()} Jedis makes. Both bound connect and reads by the same timeouts; the
     * difference is what a read without a timeout costs afterwards (a reader's blocking XREAD). The plain socket is
     * switched to non-blocking for good by its first timed connect or read, so each of its later reads is a read that
     * finds nothing, a poll, and the read again: three system calls per XREAD. The channel's socket goes back to
     * blocking after each timed operation, so an untimed read is one system call.
     */
    static Socket channelSocket(HostAndPort target, int timeoutMs) {
        SocketChannel channel = null;
        try {
            channel = SocketChannel.open();
            Socket socket = channel.socket();
            // Jedis's own socket options (DefaultJedisSocketFactory)
            socket.setReuseAddress(true);
            socket.setKeepAlive(true);
            socket.setTcpNoDelay(true);
            socket.setSoLinger(true, 0);
            socket.connect(new InetSocketAddress(target.getHost(), target.getPort()), timeoutMs);
            socket.setSoTimeout(timeoutMs);
            return socket;
        } catch (IOException | RuntimeException e) {
            if (channel != null) {
                try {
                    channel.close();
                } catch (IOException ignored) {
                    // failed already
                }
            }
            throw new JedisConnectionException("could not connect to " + target, e);
        }
    }

    private HostAndPort currentMaster(int timeoutMs) {
        RuntimeException last = null;
        for (HostAndPort sentinel : nodes) {
            try (Jedis j = new Jedis(sentinel, DefaultJedisClientConfig.builder().connectionTimeoutMillis(timeoutMs)
                    .socketTimeoutMillis(timeoutMs).build())) {
                List<String> addr = j.sentinelGetMasterAddrByName(masterName);
                if (addr != null && addr.size() == 2) {
                    return new HostAndPort(addr.get(0), Integer.parseInt(addr.get(1)));
                }
            } catch (RuntimeException e) {
                last = e;
            }
        }
        throw new JedisConnectionException("no sentinel of " + redacted() + " names a master '" + masterName + "'", last);
    }

    private JedisClientConfig clientConfig(String clientName, int timeoutMs, int db) {
        DefaultJedisClientConfig.Builder b = DefaultJedisClientConfig.builder()
                .connectionTimeoutMillis(timeoutMs)
                .socketTimeoutMillis(timeoutMs)
                .clientName(clientName)
                .database(db)
                .ssl(ssl);
        if (password != null) {
            b.user(user).password(password);
        }
        return b.build();
    }

    @Override
    public String toString() {
        return redacted();
    }
}
