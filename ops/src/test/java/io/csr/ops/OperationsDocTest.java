package io.csr.ops;

import io.csr.common.config.ConfigKey;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/operations.md cannot rot silently: every {@code bin/csr} command it tells an operator to run is a command of
 * bin/csr (sub-commands of {@code cluster} included), every flag of {@code submit} and {@code cluster down} it uses is
 * one the code parses, and every configuration name it mentions is a {@link ConfigKey}.
 */
class OperationsDocTest {
    private static final Set<String> NOT_KEYS = Set.of("CSR_EVENTS", "FINAL", "TODO");

    /** The runbook without its TODO lines (commands still to be built are announced there, not run). */
    private static String doc() throws java.io.IOException {
        return Files.readString(DeploymentFilesTest.ROOT.resolve("docs/operations.md")).lines()
                .filter(l -> !l.contains("TODO")).collect(java.util.stream.Collectors.joining("\n"));
    }

    @Test
    void everyCommandItTellsYouToRunExists() throws Exception {
        String doc = doc();
        String csr = Files.readString(DeploymentFilesTest.ROOT.resolve("bin/csr"));
        String main = csr.substring(csr.indexOf("main() {"));
        List<String> commands = new ArrayList<>();
        Matcher m = Pattern.compile("bin/csr ([a-z-]+)( [a-z-]+)?").matcher(doc);
        while (m.find()) {
            commands.add(m.group(0));
            assertThat(main).as("'%s' in docs/operations.md is a command of bin/csr", m.group(0))
                    .containsPattern("(?m)^\\s+(?:[a-z|-]+\\|)?" + Pattern.quote(m.group(1)) + "(?:\\|[a-z|-]+)?\\)");
            if (m.group(1).equals("cluster") && m.group(2) != null) {
                assertThat(m.group(2).trim()).as("'%s'", m.group(0)).isIn("up", "down", "status");
            }
        }
        assertThat(commands).contains("bin/csr cluster up", "bin/csr savepoint", "bin/csr submit", "bin/csr retention");
    }

    @Test
    void everyFlagItUsesIsParsed() throws Exception {
        String doc = doc();
        String control = Files.readString(DeploymentFilesTest.ROOT.resolve("job/src/main/java/io/csr/job/runtime/ClusterCommands.java"))
                + Files.readString(DeploymentFilesTest.ROOT.resolve("job/src/main/java/io/csr/job/cluster/ClusterCommand.java"))
                + Files.readString(DeploymentFilesTest.ROOT.resolve("job/src/main/java/io/csr/job/backfill/BackfillMain.java"))
                + Files.readString(DeploymentFilesTest.ROOT.resolve("job/src/main/java/io/csr/job/bootstrap/BootstrapMain.java"))
                + Files.readString(DeploymentFilesTest.ROOT.resolve("job/src/main/java/io/csr/job/backfill/HistoryOptions.java"))
                + Files.readString(DeploymentFilesTest.ROOT.resolve("job/src/main/java/io/csr/job/runtime/JobLaunchCommand.java"))
                + Files.readString(DeploymentFilesTest.ROOT.resolve("perf/sse/src/main/java/io/csr/perf/soak/SoakCommand.java"));
        Matcher m = Pattern.compile("bin/csr [a-z]+(?: [a-z]+)?((?: +(?:--[a-z-]+|[^ `\\n]+))*)").matcher(doc);
        Set<String> checked = new java.util.TreeSet<>();
        while (m.find()) {
            for (String written : m.group(1).trim().split(" +")) {
                String word = written.replaceAll("^\\[|\\]$", ""); // optional flags are written [--flag value]
                if (word.startsWith("--")) {
                    assertThat(control).as("flag %s in '%s'", word, m.group(0)).contains("\"" + word + "\"");
                    checked.add(word);
                }
            }
        }
        // the runbook's upgrade, rescale, backfill and bootstrap steps use these: a pattern that stops matching them
        // would check nothing and pass
        assertThat(checked).as("flags found in docs/operations.md and checked")
                .contains("--from-savepoint", "--parallelism", "--forget-jobs", "--from", "--to", "--until", "--companies",
                        "--split-hours", "--publish-updates", "--force");
    }

    @Test
    void everyConfigurationNameItMentionsIsAKey() throws Exception {
        String doc = doc();
        Matcher m = Pattern.compile("(?<![A-Za-z0-9_.])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?![a-z])").matcher(doc);
        List<String> seen = new ArrayList<>();
        while (m.find()) {
            String name = m.group(1);
            if (NOT_KEYS.contains(name) || name.startsWith("UID_")) {
                continue;
            }
            seen.add(name);
            assertThat(ConfigKey.byName(name)).as("%s in docs/operations.md is a ConfigKey", name).isPresent();
        }
        assertThat(seen).contains("FLINK_REST_URL", "ZOOKEEPER_QUORUM", "SAVEPOINT_DIR", "MAX_PARALLELISM");
    }
}
