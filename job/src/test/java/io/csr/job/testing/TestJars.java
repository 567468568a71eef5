package io.csr.job.testing;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

/** Jars a test ships to a standalone cluster: the module's shaded job jar and a jar of test-only helper classes. */
public final class TestJars {
    private TestJars() {
    }

    public static Path shadedJobJar() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("target"))) {
            return s.filter(p -> p.getFileName().toString().matches("csr-job-.*-shaded\\.jar")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("no target/csr-job-*-shaded.jar; run mvn -pl job -am verify (package runs first)"))
                    .toAbsolutePath();
        }
    }

    /** A jar of target/test-classes/io/csr/job/testing (fault injection helpers the cluster must be able to load). */
    public static Path testingJar(Path dir) throws IOException {
        Path classes = Path.of("target/test-classes");
        Path jar = dir.resolve("csr-job-testing.jar");
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(out);
             Stream<Path> files = Files.walk(classes.resolve("io/csr/job/testing"))) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                j.putNextEntry(new JarEntry(classes.relativize(f).toString().replace('\\', '/')));
                Files.copy(f, j);
                j.closeEntry();
            }
        }
        return jar.toAbsolutePath();
    }
}
