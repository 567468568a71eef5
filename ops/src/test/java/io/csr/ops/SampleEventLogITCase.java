package io.csr.ops;

import com.fasterxml.jackson.databind.JsonNode;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.common.json.Json;
import io.csr.common.migrate.Migrations;
import io.csr.common.postgres.PostgresSettings;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.api.MessageInfo;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code csr sample} records every event it publishes in event_log (same eventId, Contract 1 subject, company,
 * occurredAt, payload byte for byte) and fills the demo participants; {@code csr refresh-views} then shows them in
 * the analytics views. Own PostgreSQL schema and own JetStream stream.
 */
class SampleEventLogITCase {
    @Test
    void everyPublishedEventIsInEventLogAndTheViewsShowThem() throws Exception {
        String ns = "it_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
        CsrConfig config = CsrConfig.fromEnvironment().with(Map.of(ConfigKey.POSTGRES_SCHEMA.name(), ns));
        PostgresSettings pg = PostgresSettings.from(config);
        Migrations.postgres(pg, Migrations.sqlRoot(), s -> { }).migrate();
        try (io.nats.client.Connection nc = Nats.connect(config.get(ConfigKey.NATS_URL))) {
            JetStreamManagement jsm = nc.jetStreamManagement();
            jsm.addStream(StreamConfiguration.builder().name(ns.toUpperCase()).subjects(ns + ".>").storageType(StorageType.Memory).build());
            try {
                int exit = Main.run(config, new String[] {"sample", "--count", "120", "--rate", "400", "--companies", "sa,sb",
                        "--subject-prefix", ns, "--seed", "11"});
                assertThat(exit).isZero();

                Map<String, String[]> published = new HashMap<>();
                for (long seq = 1; seq <= 120; seq++) {
                    MessageInfo m = jsm.getMessage(ns.toUpperCase(), seq);
                    String payload = new String(m.getData(), StandardCharsets.UTF_8);
                    JsonNode n = Json.mapper().readTree(payload);
                    published.put(n.get("eventId").asText(), new String[] {m.getSubject().substring(ns.length() + 1),
                            n.get("companyId").asText(), n.get("occurredAt").asText(), payload});
                }
                Map<String, String[]> recorded = new HashMap<>();
                try (Connection c = pg.connect(); Statement st = c.createStatement();
                     ResultSet rs = st.executeQuery("SELECT event_id, subject, company_id, occurred_at, payload FROM event_log")) {
                    while (rs.next()) {
                        recorded.put(rs.getString(1), new String[] {rs.getString(2), rs.getString(3),
                                rs.getTimestamp(4).toInstant().toString(), rs.getString(5)});
                    }
                }
                assertThat(recorded.keySet()).isEqualTo(published.keySet());
                published.forEach((id, p) -> assertThat(recorded.get(id)).as(id).containsExactly(p));

                long participants;
                try (Connection c = pg.connect(); Statement st = c.createStatement();
                     ResultSet rs = st.executeQuery("SELECT count(*) FROM participants WHERE company_id IN ('sa', 'sb')")) {
                    rs.next();
                    participants = rs.getLong(1);
                }
                assertThat(participants).isEqualTo(2L * SampleCommand.USERS);

                assertThat(Main.run(config, new String[] {"refresh-views"})).isZero();
                long saEvents = published.values().stream().filter(p -> p[1].equals("sa")).count();
                try (Connection c = pg.connect(); Statement st = c.createStatement();
                     ResultSet rs = st.executeQuery("SELECT events_30d, participants_ever FROM company_dashboard_mv WHERE company_id = 'sa'")) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getLong(1)).isEqualTo(saEvents);
                    assertThat(rs.getLong(2)).isEqualTo(SampleCommand.USERS);
                }
                try (Connection c = pg.connect(); Statement st = c.createStatement();
                     ResultSet rs = st.executeQuery("SELECT trigger, status FROM view_refreshes ORDER BY id DESC LIMIT 1")) {
                    rs.next();
                    assertThat(rs.getString(1) + "/" + rs.getString(2)).isEqualTo("cli/ok");
                }
            } finally {
                jsm.deleteStream(ns.toUpperCase());
                try (Connection c = pg.withSchema("public").connect(); Statement st = c.createStatement()) {
                    st.execute("DROP SCHEMA IF EXISTS " + ns + " CASCADE");
                }
            }
        }
    }
}
