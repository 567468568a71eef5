package io.csr.ops;

import io.csr.common.config.ConfigKey;
import io.csr.common.migrate.Migrations;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docker-compose.yml cannot run here (no Docker engine), so what can be checked is checked: it parses, every file
 * and build context it names exists, and every environment variable it gives our services is a documented key.
 */
class DeploymentFilesTest {
    static final Path ROOT = Migrations.sqlRoot().getParent();

    /** Variables read by third-party images themselves (not by our code), per image. */
    static final Map<String, Set<String>> IMAGE_OWNED_ENV = Map.of(
            "postgres", Set.of("POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"),
            "clickhouse/clickhouse-server", Set.of("CLICKHOUSE_DB", "CLICKHOUSE_USER", "CLICKHOUSE_PASSWORD",
                    "CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT"));

    @SuppressWarnings("unchecked")
    static Map<String, Object> compose() throws Exception {
        try (Reader r = Files.newBufferedReader(ROOT.resolve("docker-compose.yml"))) {
            return new Yaml().load(r);
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void everyMountedFileAndBuildContextExists() throws Exception {
        Map<String, Object> services = (Map<String, Object>) compose().get("services");
        assertThat(services).containsKeys("nats", "redis", "postgres", "clickhouse", "jobmanager", "taskmanager", "gateway");
        List<String> checked = new ArrayList<>();
        for (Map.Entry<String, Object> e : services.entrySet()) {
            Map<String, Object> svc = (Map<String, Object>) e.getValue();
            for (Object v : (List<Object>) svc.getOrDefault("volumes", List.of())) {
                String host = v.toString().split(":")[0];
                if (host.startsWith("./") || host.startsWith("/")) {
                    assertThat(ROOT.resolve(host)).as("%s mounts %s", e.getKey(), host).exists();
                    checked.add(host);
                }
            }
            if (svc.get("build") instanceof Map) {
                Map<String, Object> build = (Map<String, Object>) svc.get("build");
                Path context = ROOT.resolve(String.valueOf(build.getOrDefault("context", ".")));
                Path dockerfile = context.resolve(String.valueOf(build.getOrDefault("dockerfile", "Dockerfile")));
                assertThat(dockerfile).as("%s's Dockerfile", e.getKey()).exists();
                String target = (String) build.get("target");
                if (target != null) {
                    assertThat(Files.readString(dockerfile)).as("%s's build target", e.getKey()).containsPattern("(?m)^FROM .* AS " + target + "$");
                }
            }
        }
        assertThat(checked).as("the Flink config is mounted").contains("./flink-conf/config.yaml");
    }

    @Test
    @SuppressWarnings("unchecked")
    void everyEnvironmentVariableIsADocumentedKey() throws Exception {
        Map<String, Object> services = (Map<String, Object>) compose().get("services");
        for (Map.Entry<String, Object> e : services.entrySet()) {
            Map<String, Object> svc = (Map<String, Object>) e.getValue();
            Object env = svc.get("environment");
            if (env == null) {
                continue;
            }
            List<String> names = new ArrayList<>();
            if (env instanceof Map) {
                ((Map<String, Object>) env).keySet().forEach(names::add);
            } else {
                ((List<String>) env).forEach(s -> names.add(s.split("=")[0]));
            }
            String image = String.valueOf(svc.getOrDefault("image", "")).split(":")[0];
            Set<String> imageOwned = IMAGE_OWNED_ENV.getOrDefault(image, Set.of());
            for (String name : names) {
                assertThat(ConfigKey.byName(name).isPresent() || imageOwned.contains(name))
                        .as("service %s sets %s, which is neither a ConfigKey nor read by its image %s", e.getKey(), name, image)
                        .isTrue();
            }
        }
    }

    @Test
    void flinkConfigHasExactlyOnceRetainedCheckpointsAndSavepoints() throws Exception {
        Map<String, Object> conf;
        try (Reader r = Files.newBufferedReader(ROOT.resolve("flink-conf/config.yaml"))) {
            conf = new Yaml().load(r);
        }
        assertThat(path(conf, "execution", "checkpointing", "mode")).isEqualTo("EXACTLY_ONCE");
        assertThat(path(conf, "execution", "checkpointing", "externalized-checkpoint-retention")).isEqualTo("RETAIN_ON_CANCELLATION");
        assertThat(path(conf, "state", "checkpoints", "dir")).asString().startsWith("file://");
        assertThat(path(conf, "state", "savepoints", "dir")).asString().startsWith("file://");
        assertThat(path(conf, "state", "backend", "type")).isEqualTo("rocksdb");
        assertThat(path(conf, "restart-strategy", "type")).isNotNull();
    }

    @Test
    @SuppressWarnings("unchecked")
    void flinkRunsWithZooKeeperHaOnTheComposeZooKeeperAndStorageBothFlinkServicesMount() throws Exception {
        Map<String, Object> conf;
        try (Reader r = Files.newBufferedReader(ROOT.resolve("flink-conf/config.yaml"))) {
            conf = new Yaml().load(r);
        }
        assertThat(path(conf, "high-availability", "type")).isEqualTo("zookeeper");
        assertThat(path(conf, "high-availability", "storageDir")).asString().startsWith("file:///flink-data/");
        String quorum = String.valueOf(path(conf, "high-availability", "zookeeper", "quorum"));
        Map<String, Object> services = (Map<String, Object>) compose().get("services");
        assertThat(services).as("the ZooKeeper of %s", quorum).containsKey(quorum.split(":")[0]);
        for (String flink : List.of("jobmanager", "taskmanager")) {
            Map<String, Object> svc = (Map<String, Object>) services.get(flink);
            assertThat(svc.get("volumes").toString()).as("%s mounts the HA storage", flink).contains("flink-data:/flink-data");
            assertThat((Map<String, Object>) svc.get("depends_on")).as("%s waits for ZooKeeper", flink).containsKey("zookeeper");
        }
    }

    @Test
    void readmeDocumentsEveryConfigKey() throws Exception {
        String readme = Files.readString(ROOT.resolve("README.md"));
        for (ConfigKey key : ConfigKey.values()) {
            assertThat(readme).as("README's configuration table lists %s", key).contains("| `" + key.name() + "` |");
        }
    }

    @SuppressWarnings("unchecked")
    private static Object path(Map<String, Object> m, String... keys) {
        Object cur = m;
        for (String k : keys) {
            cur = ((Map<String, Object>) cur).get(k);
            if (cur == null) {
                return null;
            }
        }
        return cur;
    }
}
