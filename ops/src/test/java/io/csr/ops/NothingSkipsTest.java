package io.csr.ops;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Nothing in the suite can pass by not running. A test whose prerequisite is missing (Chromium, clickhouse-server,
 * HAProxy, …) fails and names the install command — bin/csr test installs them — so no test source may skip itself
 * (JUnit assumptions, {@code @Disabled}, conditional execution, an aborted test), and every class with tests must be
 * one Maven runs: {@code *Test} (surefire) or {@code *ITCase} (failsafe). Measurement runs started by hand by name
 * ({@code *Run}, {@code *Probe}) are the exception, and say so.
 */
class NothingSkipsTest {
    /** Whatever lets JUnit report a test as skipped (or aborted) instead of failed. */
    static final Pattern SKIP = Pattern.compile("\\bassume(True|False|That)\\s*\\(|\\bassumingThat\\s*\\(|\\bAssumptions\\b"
            + "|\\borg\\.junit\\.Assume\\b|@Disabled\\b|@(Enabled|Disabled)(If|On|For)\\w*|\\bTestAbortedException\\b");
    static final Pattern TEST_ANNOTATION = Pattern.compile("@(?:[\\w.]+\\.)?(Test|ParameterizedTest|RepeatedTest|TestFactory|TestTemplate)\\b");
    static final Pattern RUN_BY_MAVEN = Pattern.compile(".*(Test|ITCase)\\.java");
    static final Pattern RUN_BY_HAND = Pattern.compile(".*(Run|Probe)\\.java");

    @Test
    void noTestSourceCanSkipItself() throws IOException {
        List<Path> sources = testSources();
        assertThat(sources).as("test sources found under %s", DeploymentFilesTest.ROOT).hasSizeGreaterThan(100);
        List<String> skips = new ArrayList<>();
        for (Path source : sources) {
            if (source.getFileName().toString().equals("NothingSkipsTest.java")) {
                continue;
            }
            List<String> lines = Files.readAllLines(source);
            for (int i = 0; i < lines.size(); i++) {
                Matcher m = SKIP.matcher(lines.get(i));
                if (m.find()) {
                    skips.add(DeploymentFilesTest.ROOT.relativize(source) + ":" + (i + 1) + " " + m.group());
                }
            }
        }
        assertThat(skips).as("tests that could be reported skipped instead of failing; fail with the command that "
                + "installs the missing prerequisite instead (see Chromium.require, PrivateClickHouse.binary)").isEmpty();
    }

    @Test
    void everyClassWithTestsIsOneMavenRuns() throws IOException {
        List<String> neverRun = new ArrayList<>();
        for (Path source : testSources()) {
            String name = source.getFileName().toString();
            if (TEST_ANNOTATION.matcher(Files.readString(source)).find() && !RUN_BY_MAVEN.matcher(name).matches()
                    && !RUN_BY_HAND.matcher(name).matches()) {
                neverRun.add(DeploymentFilesTest.ROOT.relativize(source).toString());
            }
        }
        assertThat(neverRun).as("classes with tests that neither surefire (*Test) nor failsafe (*ITCase) runs").isEmpty();
    }

    @Test
    void theGuardSeesASkip() {
        assertThat(SKIP.matcher("        assumeTrue(Files.isExecutable(BINARY), \"no chromium\");").find()).isTrue();
        assertThat(SKIP.matcher("import static org.junit.jupiter.api.Assumptions.assumeTrue;").find()).isTrue();
        assertThat(SKIP.matcher("    @Disabled(\"flaky\")").find()).isTrue();
        assertThat(SKIP.matcher("    @EnabledIfEnvironmentVariable(named = \"CI\", matches = \"true\")").find()).isTrue();
        assertThat(SKIP.matcher("    void aScheduledRefreshIsSkipped() {").find()).isFalse();
    }

    private static List<Path> testSources() throws IOException {
        List<Path> out = new ArrayList<>();
        try (Stream<Path> modules = Files.walk(DeploymentFilesTest.ROOT, 4)) {
            for (Path testDir : modules.filter(p -> p.endsWith(Path.of("src", "test")) && !p.toString().contains("/.csr/")).toList()) {
                try (Stream<Path> files = Files.walk(testDir)) {
                    files.filter(p -> p.toString().endsWith(".java")).forEach(out::add);
                }
            }
        }
        return out;
    }
}
