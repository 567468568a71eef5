package io.csr.ops;

import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.api.StreamInfo;

import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code csr up} (Java part, after bin/csr started the services): creates or widens the JetStream stream, applies
 * migrations, prints the status table. Idempotent: a second run changes nothing.
 */
final class UpCommand implements Main.Command {
    static final List<String> SUBJECTS = List.of("metrics.>", "journey.>", "q2q.>");

    @Override
    public String summary() {
        return "create the JetStream stream, apply migrations, print status";
    }

    @Override
    public int run(CsrConfig config, String[] args) throws Exception {
        ensureStream(config);
        MigrateCommand.migrateAll(config);
        return StatusCommand.print(config) ? 0 : 3;
    }

    static void ensureStream(CsrConfig config) throws Exception {
        String name = config.get(ConfigKey.NATS_STREAM);
        try (Connection nc = Nats.connect(config.get(ConfigKey.NATS_URL))) {
            System.out.println("    " + ensureStream(nc.jetStreamManagement(), name, SUBJECTS));
        }
    }

    /** Creates the stream, or adds missing subjects to an existing one; returns what it did. */
    static String ensureStream(JetStreamManagement jsm, String name, List<String> subjects) throws Exception {
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
                    .build());
            return "stream " + name + ": created over " + String.join(" ", subjects);
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
