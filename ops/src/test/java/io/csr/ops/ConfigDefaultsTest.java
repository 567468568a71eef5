package io.csr.ops;

import io.csr.common.config.ConfigKey;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * bin/csr writes no default of its own: what it needs before any JVM exists (service addresses, FLINK_REST_URL,
 * GATEWAY_PORT, CSR_STATE_DIR, …) its {@code setting} function reads from ConfigKey's source. It must read every key's default
 * exactly, and the environment's value over it (an empty one included, as CsrConfig does).
 */
class ConfigDefaultsTest {
    @Test
    void bashReadsEveryDefaultFromConfigKey() throws Exception {
        String script = Arrays.stream(ConfigKey.values()).map(k -> "printf '%s=%s\\n' " + k.name() + " \"$(setting " + k.name() + ")\"")
                .collect(Collectors.joining("; "));
        Map<String, String> expected = new LinkedHashMap<>();
        for (ConfigKey k : ConfigKey.values()) {
            expected.put(k.name(), k.defaultValue());
        }
        // the one default bash resolves itself, for its pid files and logs: <repo> is this checkout
        expected.put(ConfigKey.CSR_STATE_DIR.name(), ConfigKey.CSR_STATE_DIR.defaultValue().replace("<repo>", DeploymentFilesTest.ROOT.toString()));
        assertThat(settings(script, Map.of())).isEqualTo(expected);
    }

    @Test
    void theEnvironmentWinsEvenWhenEmpty() throws Exception {
        Map<String, String> got = settings("printf '%s=%s\\n' FLINK_REST_URL \"$(setting FLINK_REST_URL)\" ZOOKEEPER_QUORUM \"$(setting ZOOKEEPER_QUORUM)\"",
                Map.of("FLINK_REST_URL", "http://10.0.0.5:9081", "ZOOKEEPER_QUORUM", ""));
        assertThat(got).containsEntry("FLINK_REST_URL", "http://10.0.0.5:9081").containsEntry("ZOOKEEPER_QUORUM", "");
    }

    private static Map<String, String> settings(String script, Map<String, String> env) throws Exception {
        CsrFunctions.Result r = CsrFunctions.run(java.nio.file.Files.createTempDirectory("csr-defaults"), script, environment -> {
            for (ConfigKey k : ConfigKey.values()) {
                environment.remove(k.name());
            }
            environment.putAll(env);
        });
        assertThat(r.exit()).as(r.err()).isZero();
        String out = r.out();
        Map<String, String> m = new LinkedHashMap<>();
        out.lines().forEach(l -> m.put(l.substring(0, l.indexOf('=')), l.substring(l.indexOf('=') + 1)));
        return m;
    }
}
