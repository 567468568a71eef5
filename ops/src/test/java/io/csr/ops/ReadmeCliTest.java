package io.csr.ops;

import io.csr.common.cli.Csr;
import io.csr.common.config.CsrConfig;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * README's table of bin/csr commands matches the command tree both ways: every command it names exists, with the
 * options it shows, and every visible command is in it. The job's and perf/sse's commands are read from their
 * META-INF/csr/commands and their options from their sources (ops has neither on its class path).
 */
class ReadmeCliTest {
    private static final Path ROOT = DeploymentFilesTest.ROOT;
    private static final Pattern ROW = Pattern.compile("(?m)^\\| (`bin/csr [^|]*?(?:\\\\\\|[^|]*?)*) \\|");

    @Test
    void theReadmeTableAndTheCommandsAgree() throws Exception {
        CommandLine ops = Csr.tree(CsrConfig.of(Map.of()));
        Set<String> jobCommands = new TreeSet<>();
        String jobSources = "";
        for (String module : List.of("job", "perf/sse")) { // the modules whose commands run on their own class path
            for (String line : Files.readAllLines(ROOT.resolve(module + "/src/main/resources/META-INF/csr/commands"))) {
                if (!line.isBlank() && !line.startsWith("#")) {
                    jobCommands.add(line.substring(0, line.indexOf('=')).strip());
                }
            }
            try (Stream<Path> files = Files.walk(ROOT.resolve(module + "/src/main/java"))) {
                jobSources += files.filter(f -> f.toString().endsWith(".java")).map(ReadmeCliTest::read).collect(Collectors.joining("\n"));
            }
        }
        String readme = Files.readString(ROOT.resolve("README.md"));
        String table = readme.substring(readme.indexOf("## The CLI"), readme.indexOf("## Migrations"));
        Set<String> named = new TreeSet<>();
        Matcher m = ROW.matcher(table);
        while (m.find()) {
            for (String item : m.group(1).replace("`", "").replace("bin/csr ", "").split(" / ")) {
                String[] words = item.strip().split(" ");
                for (String command : words[0].split("\\\\\\|")) {
                    named.add(command);
                    boolean group = Set.of("cluster", "bench", "run").contains(command);
                    List<String> subs = group && words.length > 1 ? List.of(words[1].split("\\\\\\|")) : List.of();
                    for (String sub : subs) {
                        String path = command + " " + sub;
                        assertThat(ops.getSubcommands().containsKey(command) && ops.getSubcommands().get(command).getSubcommands().containsKey(sub)
                                || jobCommands.contains(path)
                                || jobCommands.contains(command) && jobSources.contains("@Command(name = \"" + sub + "\""))
                                .as("'bin/csr %s' in README is a command", path).isTrue();
                    }
                    for (String word : words) {
                        String flag = word.replaceAll("^\\[|\\]$", "");
                        if (!flag.startsWith("--")) {
                            continue;
                        }
                        CommandLine c = ops.getSubcommands().get(command);
                        if (c != null && !subs.isEmpty()) {
                            c = c.getSubcommands().get(subs.get(0));
                        }
                        if (c != null) {
                            assertThat(c.getCommandSpec().findOption(flag)).as("%s of 'bin/csr %s' in README", flag, item.strip()).isNotNull();
                        } else {
                            assertThat(jobSources).as("%s of 'bin/csr %s' in README", flag, item.strip()).contains("\"" + flag + "\"");
                        }
                    }
                }
            }
        }
        Set<String> visible = new TreeSet<>();
        ops.getSubcommands().forEach((name, c) -> {
            if (!c.getCommandSpec().usageMessage().hidden()) {
                visible.add(name);
            }
        });
        jobCommands.forEach(path -> visible.add(path.split(" ")[0]));
        assertThat(named).as("commands in README's table").containsAll(visible);
        Set<String> known = new TreeSet<>(visible);
        known.addAll(new ArrayList<>(ops.getSubcommands().keySet()));
        assertThat(known).as("every command README names exists").containsAll(named);
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
