package io.csr.job.backfill;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.postgres.PostgresSettings;
import io.csr.job.testing.EventFixture;

import java.util.List;

/** {@link HistoryFixture} for tests in other packages (the bootstrap's). */
public final class BackfillTestAccess {
    private final HistoryFixture fx = new HistoryFixture();

    public EventFixture.Message metric(String company, String metric, long at) {
        return fx.metric(company, metric, at);
    }

    public EventFixture.Message journey(String company, String user, boolean value, long at) {
        return fx.journey(company, user, value, at);
    }

    public io.csr.common.config.CsrConfig config(io.csr.job.testing.TestStream stream, String ns, java.nio.file.Path stateDir) {
        return HistoryFixture.config(stream, ns, stateDir);
    }

    public ClickHouseAccess migratedStoresWith(io.csr.common.config.CsrConfig config, List<EventFixture.Message> history) throws Exception {
        return HistoryFixture.migratedStoresWith(config, history);
    }

    public void dropNamespace(io.csr.common.config.CsrConfig config, ClickHouseAccess ch, List<String> companies) throws Exception {
        HistoryFixture.dropNamespace(config, ch, companies);
    }

    public void writeEventLog(PostgresSettings pg, List<EventFixture.Message> history) throws Exception {
        HistoryFixture.writeEventLog(pg, history);
    }

    public void awaitWindows(String what, ClickHouseAccess ch, List<EventFixture.Message> published) {
        HistoryFixture.awaitWindows(what, ch, published);
    }

    public long expectedUsersFlagged(List<EventFixture.Message> published, String company) {
        return HistoryFixture.expectedUsersFlagged(published, company);
    }

    public long latestUsersFlagged(String prefix, String company) {
        return HistoryFixture.latestUsersFlagged(prefix, company);
    }
}
