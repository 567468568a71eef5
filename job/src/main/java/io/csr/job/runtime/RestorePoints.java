package io.csr.job.runtime;

import org.apache.flink.runtime.checkpoint.Checkpoints;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.apache.flink.core.fs.FileStatus;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;
import org.apache.flink.core.fs.UnsupportedFileSystemSchemeException;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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

    /**
     * True for a savepoint directory written by {@code bin/csr bootstrap} (any file system Flink reaches). A savepoint
     * whose file system cannot be reached is not one (the restore itself then fails and says why).
     */
    public static boolean isBootstrap(String savepointPath) {
        if (savepointPath == null) {
            return false;
        }
        try {
            Path marker = new Path(new Path(savepointPath), BOOTSTRAP_MARKER);
            return marker.getFileSystem().exists(marker);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * A restorable directory: its URI (what {@code execution.savepoint.path} takes, e.g. {@code file:/…/chk-12} or
     * {@code s3://bucket/ckpt/<job>/chk-12}) and when its {@code _metadata} was written.
     */
    public record Candidate(String dir, long completedAtMs, long checkpointId) {
        /** The last segment of the path: {@code chk-N} or {@code savepoint-…}. */
        public String name() {
            return new Path(dir).getName();
        }
    }

    /** {@link #latest(String, String)} for local directories (null = none). */
    public static Optional<Candidate> latest(java.nio.file.Path checkpointRoot, java.nio.file.Path savepointRoot) {
        return latest(checkpointRoot == null ? null : checkpointRoot.toUri().toString(),
                savepointRoot == null ? null : savepointRoot.toUri().toString());
    }

    /**
     * The newest loadable restore point under the given roots, URIs on any file system Flink has (null or a missing
     * root: none there). Reads through Flink's {@link FileSystem}, so {@code s3://…} works wherever the job's Flink has
     * the plugin; a root whose file system is missing or cannot be listed throws, naming the scheme and what to
     * install: the job must never start from the beginning of the stream because it could not see its checkpoints.
     */
    public static Optional<Candidate> latest(String checkpointRoot, String savepointRoot) {
        List<Candidate> candidates = new ArrayList<>();
        if (checkpointRoot != null) {
            candidates.addAll(checkpoints(checkpointRoot));
        }
        if (savepointRoot != null) {
            candidates.addAll(savepoints(savepointRoot));
        }
        candidates.sort(Comparator.comparingLong(Candidate::completedAtMs).thenComparingLong(Candidate::checkpointId).reversed());
        for (Candidate c : candidates) {
            if (loads(c.dir())) {
                return Optional.of(c);
            }
            LOG.warn("skipping {}: its _metadata does not load (cut short by a crash?)", c.dir());
        }
        return Optional.empty();
    }

    static List<Candidate> checkpoints(String root) {
        FileSystem fs = fileSystem(root, "CHECKPOINT_DIR");
        List<Candidate> out = new ArrayList<>();
        for (Path jobDir : children(fs, new Path(root), "CHECKPOINT_DIR")) {
            for (Path chk : children(fs, jobDir, "CHECKPOINT_DIR")) {
                Matcher m = CHECKPOINT.matcher(chk.getName());
                if (m.matches()) {
                    candidate(fs, chk, Long.parseLong(m.group(1))).ifPresent(out::add);
                }
            }
        }
        return out;
    }

    static List<Candidate> savepoints(String root) {
        FileSystem fs = fileSystem(root, "SAVEPOINT_DIR");
        List<Candidate> out = new ArrayList<>();
        for (Path sp : children(fs, new Path(root), "SAVEPOINT_DIR")) {
            if (sp.getName().startsWith("savepoint-")) {
                candidate(fs, sp, -1).ifPresent(out::add);
            }
        }
        return out;
    }

    /**
     * Flink's file system for {@code uri}; an unsupported scheme is a clear error naming it and what to install.
     *
     * @param key the setting that named it (CHECKPOINT_DIR, SAVEPOINT_DIR), for the message
     */
    public static FileSystem fileSystem(String uri, String key) {
        Path path = new Path(uri);
        try {
            return path.getFileSystem();
        } catch (UnsupportedFileSystemSchemeException e) {
            String scheme = path.toUri().getScheme();
            throw new IllegalArgumentException(key + "=" + uri + ": this process has no Flink file system for scheme '" + scheme
                    + "' (" + e.getMessage() + "). " + howToInstall(scheme) + " The job did not start: it never starts from the"
                    + " beginning of the stream because it cannot see its checkpoints.", e);
        } catch (IOException e) {
            throw new IllegalArgumentException(key + "=" + uri + " cannot be opened (" + e.getMessage() + "); check the URI and"
                    + " the credentials of its file system. The job did not start.", e);
        }
    }

    private static String howToInstall(String scheme) {
        String plugins = "in its own folder under the plugins directory of this process and of every Flink process (FLINK_PLUGINS_DIR,"
                + " default ./plugins; e.g. plugins/s3-fs-presto/flink-s3-fs-presto-1.20.x.jar from Maven Central)";
        return switch (scheme == null ? "" : scheme) {
            case "s3", "s3a", "s3p" -> "Put flink-s3-fs-presto (or flink-s3-fs-hadoop) " + plugins
                    + " and set s3.access-key, s3.secret-key and s3.endpoint in the Flink configuration.";
            case "gs" -> "Put flink-gs-fs-hadoop " + plugins + ".";
            case "abfs", "abfss", "wasb", "wasbs" -> "Put flink-azure-fs-hadoop " + plugins + ".";
            case "oss" -> "Put flink-oss-fs-hadoop " + plugins + ".";
            case "hdfs" -> "Put the Hadoop client on the classpath (export HADOOP_CLASSPATH=$(hadoop classpath)).";
            default -> "Use a scheme Flink supports (a local path, file://, s3://, gs://, hdfs://, …) with its plugin installed "
                    + plugins + ", or a local path.";
        };
    }

    private static Optional<Candidate> candidate(FileSystem fs, Path dir, long id) {
        Path metadata = new Path(dir, "_metadata");
        try {
            if (fs.exists(metadata)) {
                FileStatus status = fs.getFileStatus(metadata);
                if (!status.isDir() && status.getLen() > 0) {
                    return Optional.of(new Candidate(dir.toUri().toString(), status.getModificationTime(), id));
                }
            }
        } catch (IOException e) {
            LOG.warn("cannot read {}: {}", metadata, e.toString());
        }
        return Optional.empty();
    }

    /** Whether {@code dir}'s {@code _metadata} loads (a complete checkpoint or savepoint). */
    static boolean loads(String dir) {
        Path metadata = new Path(new Path(dir), "_metadata");
        try (InputStream in = metadata.getFileSystem().open(metadata)) {
            Checkpoints.loadCheckpointMetadata(new DataInputStream(in), RestorePoints.class.getClassLoader(), dir);
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Subdirectories of {@code dir}; none when it does not exist (a first start); a listing that fails throws. */
    private static List<Path> children(FileSystem fs, Path dir, String key) {
        try {
            if (!fs.exists(dir)) {
                return List.of();
            }
            FileStatus[] listed = fs.listStatus(dir);
            List<Path> out = new ArrayList<>();
            for (FileStatus f : listed == null ? new FileStatus[0] : listed) {
                if (f.isDir()) {
                    out.add(f.getPath());
                }
            }
            return out;
        } catch (IOException e) {
            throw new IllegalStateException("cannot list " + dir + " (" + key + "): " + e.getMessage() + "; the job does not start"
                    + " rather than start from the beginning of the stream without its checkpoints. Check that this machine reaches"
                    + " that storage (network, credentials), or start explicitly with --fresh / --from-savepoint PATH", e);
        }
    }
}
