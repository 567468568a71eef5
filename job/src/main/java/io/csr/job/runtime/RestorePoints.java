package io.csr.job.runtime;

import org.apache.flink.runtime.checkpoint.Checkpoints;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Finds the newest completed checkpoint or savepoint to resume from. Flink writes {@code <dir>/<jobId>/chk-N/_metadata}
 * only once a checkpoint is complete, and {@code <savepointDir>/savepoint-…/_metadata} for savepoints; directories
 * without {@code _metadata} (a checkpoint in flight when the process died) are skipped, and so is a
 * {@code _metadata} that does not load (cut short by a crash), in which case the next newest one is used.
 */
public final class RestorePoints {
    private static final Logger LOG = LoggerFactory.getLogger(RestorePoints.class);
    private static final Pattern CHECKPOINT = Pattern.compile("chk-(\\d+)");

    private RestorePoints() {
    }

    /**
     * Marker file in a savepoint written by {@code bin/csr bootstrap}: it holds, besides the live job's state, the
     * state of the history source the live job does not have, which a restore from it may (and must) leave unclaimed.
     */
    public static final String BOOTSTRAP_MARKER = "_csr_bootstrap";

    /** True for a local savepoint directory written by {@code bin/csr bootstrap}. */
    public static boolean isBootstrap(String savepointPath) {
        if (savepointPath == null) {
            return false;
        }
        try {
            Path dir = savepointPath.startsWith("file:") ? Path.of(java.net.URI.create(savepointPath)) : Path.of(savepointPath);
            return Files.exists(dir.resolve(BOOTSTRAP_MARKER));
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** A restorable directory: its path (what {@code execution.savepoint.path} takes) and when it was completed. */
    public record Candidate(Path dir, FileTime completedAt, long checkpointId) {
    }

    /** The newest loadable restore point under the given roots (missing roots are ignored). */
    public static Optional<Candidate> latest(Path checkpointRoot, Path savepointRoot) {
        List<Candidate> candidates = new ArrayList<>();
        if (checkpointRoot != null) {
            candidates.addAll(checkpoints(checkpointRoot));
        }
        if (savepointRoot != null) {
            candidates.addAll(savepoints(savepointRoot));
        }
        candidates.sort(Comparator.comparing(Candidate::completedAt).thenComparingLong(Candidate::checkpointId).reversed());
        for (Candidate c : candidates) {
            if (loads(c.dir())) {
                return Optional.of(c);
            }
            LOG.warn("skipping {}: its _metadata does not load (cut short by a crash?)", c.dir());
        }
        return Optional.empty();
    }

    static List<Candidate> checkpoints(Path root) {
        List<Candidate> out = new ArrayList<>();
        for (Path jobDir : children(root)) {
            for (Path chk : children(jobDir)) {
                Matcher m = CHECKPOINT.matcher(chk.getFileName().toString());
                if (m.matches()) {
                    candidate(chk, Long.parseLong(m.group(1))).ifPresent(out::add);
                }
            }
        }
        return out;
    }

    static List<Candidate> savepoints(Path root) {
        List<Candidate> out = new ArrayList<>();
        for (Path sp : children(root)) {
            if (sp.getFileName().toString().startsWith("savepoint-")) {
                candidate(sp, -1).ifPresent(out::add);
            }
        }
        return out;
    }

    private static Optional<Candidate> candidate(Path dir, long id) {
        Path metadata = dir.resolve("_metadata");
        try {
            if (Files.isRegularFile(metadata) && Files.size(metadata) > 0) {
                return Optional.of(new Candidate(dir, Files.getLastModifiedTime(metadata), id));
            }
        } catch (IOException e) {
            LOG.warn("cannot read {}: {}", metadata, e.toString());
        }
        return Optional.empty();
    }

    private static boolean loads(Path dir) {
        try (InputStream in = Files.newInputStream(dir.resolve("_metadata"))) {
            Checkpoints.loadCheckpointMetadata(new DataInputStream(in), RestorePoints.class.getClassLoader(), dir.toString());
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static List<Path> children(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isDirectory).toList();
        } catch (IOException e) {
            LOG.warn("cannot list {}: {}", dir, e.toString());
            return List.of();
        }
    }
}
