package io.csr.gateway;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.migrate.Migrations;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.StreamEntryID;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The curl lines of docs/streaming.md ("### curl") run as written — only the address, the token and the example id
 * are swapped for this test's gateway — so the documented client commands cannot drift from the server.
 */
class DocsCurlITCase {
    @AutoClose static GatewayFixture fx; // closed after the last test: stops the gateway, drops its namespace
    static ClickHouseAccess ch;
    static List<String> curls;

    @BeforeAll
    static void start() throws Exception {
        fx = new GatewayFixture(Map.of("STREAM_HEARTBEAT_SECONDS", "1"));
        ch = fx.clickHouse(); // dropped by fx.close()
        String docs = Files.readString(Migrations.sqlRoot().getParent().resolve("docs/streaming.md"));
        Matcher block = Pattern.compile("### curl\\s+```sh\\n(.*?)```", Pattern.DOTALL).matcher(docs);
        assertThat(block.find()).as("docs/streaming.md has a ### curl block").isTrue();
        curls = new ArrayList<>();
        for (String line : block.group(1).split("\n")) {
            if (line.startsWith("curl ")) {
                curls.add(line);
            }
        }
        assertThat(curls).as("live, resume and snapshot commands").hasSize(3);
    }

    @Test
    void liveStreamCommandShowsTheProtocolFrames() throws Exception {
        String out = run(curls.get(0), null);
        assertThat(out).containsPattern("^retry: \\d{4}\n").contains(": heartbeat");
    }

    @Test
    void resumeCommandDeliversExactlyWhatCameAfterTheGivenId() throws Exception {
        StreamEntryID seen = fx.publishMetric("acme", "docs_hours", 1);
        StreamEntryID missed = fx.publishMetric("acme", "docs_hours", 2);
        String out = run(curls.get(1), seen.toString());
        assertThat(out).contains("id: " + missed).doesNotContain("id: " + seen + "\n").contains("event: metric_updated");
    }

    @Test
    void snapshotCommandReturnsTheCompanysJson() throws Exception {
        String out = run(curls.get(2), null);
        assertThat(out).startsWith("{").contains("\"companyId\":\"acme\"");
    }

    /** Runs one documented line with bash, cut after 3 s. */
    private static String run(String documented, String resumeId) throws Exception {
        String cmd = documented.replace("http://127.0.0.1:8080", fx.base());
        if (resumeId != null) {
            cmd = cmd.replaceAll("Last-Event-ID: [0-9]+-[0-9]+", "Last-Event-ID: " + resumeId);
        }
        cmd = cmd.replaceFirst("^curl ", "curl --max-time 3 "); // bounds every call; curl -N never ends by itself
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", cmd).redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("T", fx.tokens.forCompany("acme")); // $T of the docs: a token for acme
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8); // EOF when curl ends
        assertThat(p.waitFor(5, TimeUnit.SECONDS)).as("curl ended: %s", cmd).isTrue();
        return out;
    }
}
