package io.csr.common.redis;

import io.csr.common.contract.RedisStreams;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.util.JedisClusterCRC16;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RedisEndpointTest {
    @Test
    void theThreeFormsOfRedisUrl() {
        RedisEndpoint one = RedisEndpoint.parse("redis://user:p%40ss@cache:6380/2");
        assertThat(one.mode()).isEqualTo(RedisEndpoint.Mode.STANDALONE);
        assertThat(one.nodes()).containsExactly(new HostAndPort("cache", 6380));
        assertThat(one.database()).isEqualTo(2);
        assertThat(one.redacted()).isEqualTo("redis://user:***@cache:6380/2");

        RedisEndpoint cluster = RedisEndpoint.parse("redis-cluster://127.0.0.1:7000,127.0.0.1:7001, 127.0.0.1:7002");
        assertThat(cluster.cluster()).isTrue();
        assertThat(cluster.nodes()).extracting(HostAndPort::getPort).containsExactly(7000, 7001, 7002);

        RedisEndpoint sentinel = RedisEndpoint.parse("redis-sentinel://:secret@s1:26379,s2:26379/csr-master/1");
        assertThat(sentinel.mode()).isEqualTo(RedisEndpoint.Mode.SENTINEL);
        assertThat(sentinel.masterName()).isEqualTo("csr-master");
        assertThat(sentinel.database()).isEqualTo(1);
        assertThat(sentinel.redacted()).doesNotContain("secret");
    }

    @Test
    void badUrlsNameTheForms() {
        assertThatThrownBy(() -> RedisEndpoint.parse("http://x")).hasMessageContaining("redis-cluster://");
        assertThatThrownBy(() -> RedisEndpoint.parse(" ")).hasMessageContaining("REDIS_URL is empty");
        assertThatThrownBy(() -> RedisEndpoint.parse("redis-sentinel://s1:26379")).hasMessageContaining("names no master");
        assertThatThrownBy(() -> RedisEndpoint.parse("redis-cluster://a:1,b")).hasMessageContaining("'b' is not host:port");
        assertThatThrownBy(() -> RedisEndpoint.parse("redis-cluster://a:1/3")).hasMessageContaining("no database");
        assertThatThrownBy(() -> RedisEndpoint.parse("redis://a:70000")).hasMessageContaining("out of range");
    }

    @Test
    void aCompanysKeysShareOneSlotAndCompaniesSpread() {
        String stream = RedisStreams.updatesKey("csr:", "acme");
        assertThat(stream).isEqualTo("csr:updates:{acme}");
        assertThat(RedisStreams.companyOf("csr:", stream)).isEqualTo("acme");
        assertThat(JedisClusterCRC16.getSlot(RedisStreams.lostKey("csr:", "acme"))).isEqualTo(JedisClusterCRC16.getSlot(stream));
        assertThat(JedisClusterCRC16.getSlot(stream)).isEqualTo(JedisClusterCRC16.getSlot("acme"));
        assertThat(JedisClusterCRC16.getSlot(RedisStreams.updatesKey("csr:", "globex"))).isNotEqualTo(JedisClusterCRC16.getSlot(stream));
    }

    @Test
    void aReadersSocketIsAChannelsSocketInBlockingModeWithJedisOptionsAndTimeouts() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             Socket client = RedisEndpoint.channelSocket(new HostAndPort("127.0.0.1", server.getLocalPort()), 5_000);
             Socket peer = server.accept()) {
            // a channel's socket goes back to blocking after a timed connect or read, so the reader's untimed XREAD is
            // one read system call (a plain socket stays non-blocking: read, poll, read)
            assertThat(client.getChannel()).isNotNull();
            assertThat(client.getSoTimeout()).isEqualTo(5_000);
            peer.getOutputStream().write('+');
            assertThat(client.getInputStream().read()).as("a timed read").isEqualTo('+');
            assertThat(client.getChannel().isBlocking()).isTrue();
            assertThat(client.getTcpNoDelay()).isTrue();
            assertThat(client.getKeepAlive()).isTrue();
        }
        int closed;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        assertThatThrownBy(() -> RedisEndpoint.channelSocket(new HostAndPort("127.0.0.1", closed), 1_000))
                .isInstanceOf(JedisConnectionException.class).hasMessageContaining("127.0.0.1:" + closed);
    }
}
