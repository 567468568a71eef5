package io.csr.common.migrate;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Applies {@code sql/<kind>/NNN_*.sql} in version order, records each in the target's {@code schema_migrations}, and
 * refuses to go on when an applied file was edited afterwards (checksum mismatch) or a version appears twice.
 */
public final class MigrationRunner {
    private final MigrationTarget target;
    private final Path directory;
    private final Consumer<String> progress;

    public MigrationRunner(MigrationTarget target, Path sqlRoot, Consumer<String> progress) {
        this.target = target;
        this.directory = sqlRoot.resolve(target.kind());
        this.progress = progress;
    }

    /** The migration files, ordered by version. */
    public List<Migration> files() {
        if (!Files.isDirectory(directory)) {
            throw new MigrationException("migration folder " + directory + " does not exist; run from the repository or set -Dcsr.root");
        }
        TreeMap<Integer, Migration> byVersion = new TreeMap<>();
        try (Stream<Path> list = Files.list(directory)) {
            for (Path p : (Iterable<Path>) list.filter(f -> f.toString().endsWith(".sql")).sorted()::iterator) {
                Migration m = Migration.read(p);
                Migration clash = byVersion.put(m.version(), m);
                if (clash != null) {
                    throw new MigrationException("two migrations share version " + m.version() + ": " + clash.file().getFileName()
                            + " and " + p.getFileName() + "; renumber the newer one");
                }
            }
        } catch (IOException e) {
            throw new MigrationException("cannot list " + directory + ": " + e.getMessage(), e);
        }
        return new ArrayList<>(byVersion.values());
    }

    /** Applies what is pending; returns the migrations applied now (empty when everything was up to date). */
    public List<Migration> migrate() {
        List<Migration> files = files();
        try (AutoCloseable held = target.lock()) {
            return migrate(files);
        } catch (MigrationException e) {
            throw e;
        } catch (Exception e) {
            throw new MigrationException("releasing the migration lock of " + target.describe() + " failed: " + e.getMessage(), e);
        }
    }

    private List<Migration> migrate(List<Migration> files) {
        target.prepare();
        Map<Integer, MigrationTarget.AppliedMigration> applied = target.applied();
        verify(files, applied);
        List<Migration> done = new ArrayList<>();
        for (Migration m : files) {
            if (applied.containsKey(m.version())) {
                continue;
            }
            long start = System.nanoTime();
            progress.accept(target.kind() + ": applying " + m.label() + " (" + m.statements().size() + " statements)");
            try {
                target.apply(m);
            } catch (RuntimeException e) {
                throw new MigrationException(target.kind() + " migration " + m.file() + " failed on " + target.describe() + ": "
                        + e.getMessage() + " — fix the file (it was not recorded) and run bin/csr migrate again", e);
            }
            progress.accept(target.kind() + ": applied " + m.label() + " in " + (System.nanoTime() - start) / 1_000_000 + " ms");
            done.add(m);
        }
        return done;
    }

    /** Each file's state against the ledger, for {@code csr status}. */
    public List<State> status() {
        List<Migration> files = files();
        target.prepare();
        Map<Integer, MigrationTarget.AppliedMigration> applied = target.applied();
        List<State> out = new ArrayList<>();
        for (Migration m : files) {
            MigrationTarget.AppliedMigration a = applied.get(m.version());
            String state = a == null ? "pending" : a.checksum().equals(m.checksum()) ? "applied" : "EDITED after apply";
            out.add(new State(target.kind(), m.label(), state, a == null ? "" : a.appliedAt()));
        }
        for (MigrationTarget.AppliedMigration a : applied.values()) {
            if (files.stream().noneMatch(m -> m.version() == a.version())) {
                out.add(new State(target.kind(), String.format("%03d_%s", a.version(), a.name()), "applied, file MISSING", a.appliedAt()));
            }
        }
        return out;
    }

    private void verify(List<Migration> files, Map<Integer, MigrationTarget.AppliedMigration> applied) {
        for (Migration m : files) {
            MigrationTarget.AppliedMigration a = applied.get(m.version());
            if (a != null && !a.checksum().equals(m.checksum())) {
                throw new MigrationException(m.file() + " was edited after it was applied to " + target.describe()
                        + " (recorded checksum " + a.checksum().substring(0, 12) + "…, file now " + m.checksum().substring(0, 12)
                        + "…). Applied migrations are immutable: restore the file (git checkout) and put the change in a new NNN file.");
            }
        }
    }

    public record State(String kind, String migration, String state, String appliedAt) {
    }
}
