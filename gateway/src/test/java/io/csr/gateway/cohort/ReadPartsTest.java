package io.csr.gateway.cohort;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** How the read of every server's parts names the servers and the credentials ({@link ReadParts.Servers}). */
class ReadPartsTest {
    static final ReadParts.Servers SERVERS = new ReadParts.Servers("10.0.0.1 9000 csr,::1 9001 csr");

    @Test
    void theClustersUserGetsThisProcesssPasswordAsAnEscapedLiteral() {
        assertThat(SERVERS.remote("csr", "pa'ss\\wörd"))
                .isEqualTo("remote('10.0.0.1:9000,[::1]:9001', system, parts, 'csr', 'pa\\'ss\\\\wörd')");
        assertThat(SERVERS.remote("csr", "")).as("an empty password is sent as such")
                .isEqualTo("remote('10.0.0.1:9000,[::1]:9001', system, parts, 'csr', '')");
    }

    @Test
    void anotherUsersPasswordIsNotKnownSoNoneIsSent() {
        assertThat(SERVERS.remote("reader", "secret")).isEqualTo("remote('10.0.0.1:9000,[::1]:9001', system, parts, 'csr')");
    }

    /**
     * ClickHouseAccess shows at most a statement's first 200 characters in its errors and log lines; the membership
     * query comes first in the statement, so remote()'s password is never among them.
     */
    @Test
    void thePasswordComesAfterWhatAnErrorShows() {
        assertThat(ReadParts.Servers.sql("c").length()).isGreaterThan(200);
    }
}
