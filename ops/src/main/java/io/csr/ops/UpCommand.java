package io.csr.ops;

import io.csr.common.cli.CsrCommand;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.api.StreamInfo;
import picocli.CommandLine.Command;

import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code csr up} (Java part, after bin/csr started the services): creates or widens the JetStream stream, applies
 * migrations, prints the status table. Idempotent: a second run changes nothing.
 */
@Command(name = "up", mixinStandardHelpOptions = true,
        description = {"Install and start what is missing, build, migrate; print the status table. Safe to re-run.",
                "bin/csr installs what is missing (apt), starts the services that are down and builds what is stale "
                + "before any JVM; then this creates the JetStream stream, applies migrations and prints the status "
                + "table."})
final class UpCommand extends CsrCommand {
    static final List<String> SUBJECTS = List.of("metrics.>", "journey.>", "q2q.>");

    @Override
    public Integer call() throws Exception {
        ensureStream(config());
        MigrateCommand.migrateAll(config());
        return StatusCommand.print(config()) ? 0 : 3;
    }

    static void ensureStream(CsrConfig config) throws Exception {
        String name = config.get(ConfigKey.NATS_STREAM);
        try (Connection nc = Nats.connect(config.get(ConfigKey.NATS_URL))) {
            System.out.println("    " + ensureStream(nc.jetStreamManagement(), name, SUBJECTS,
                    config.getInt(ConfigKey.NATS_STREAM_REPLICAS)));
        }
    }

    /** Creates the stream, or adds missing subjects to an existing one; returns what it did. */
    static String ensureStream(JetStreamManagement jsm, String name, List<String> subjects, int replicas) throws Exception {
        StreamInfo info;
        try {
            info = jsm.getStreamInfo(name);
        } catch (JetStreamApiException e) {
            if (e.getApiErrorCode() != 10059) { // stream not found
                throw e;
            }
            jsm.addStream(StreamConfiguration.builder()
                    .name(name)
                    .subjects(subjects)
                    .storageType(StorageType.File)
                    .maxAge(Duration.ofDays(7))
                    .duplicateWindow(Duration.ofMinutes(2))
                    .replicas(replicas)
                    .build());
            return "stream " + name + ": created over " + String.join(" ", subjects) + (replicas > 1 ? " at " + replicas + " replicas" : "");
        }
        Set<String> have = new LinkedHashSet<>(info.getConfiguration().getSubjects());
        if (have.containsAll(subjects)) {
            return "stream " + name + ": present (" + info.getStreamState().getMsgCount() + " messages)";
        }
        have.addAll(subjects);
        jsm.updateStream(StreamConfiguration.builder(info.getConfiguration()).subjects(have).build());
        return "stream " + name + ": added subjects, now " + String.join(" ", have);
    }
}
