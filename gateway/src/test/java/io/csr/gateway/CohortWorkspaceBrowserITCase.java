package io.csr.gateway;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.common.postgres.PostgresSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.csr.gateway.Chromium.WAIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Headless Chromium on the cohort workspace ({@code /cohorts.html}) as a programme manager uses it: create a static
 * cohort (pasted ids and a CSV file) and a rule cohort built in the form with its live preview count, edit the rule,
 * compare with Welch intervals, download the comparison as CSV, delete with confirmation; a viewer sees the read-only
 * page, and 403/404 answers read as sentences. Everything is read back from the page over DevTools.
 */
class CohortWorkspaceBrowserITCase {

    @Test
    void createPreviewEditCompareDownloadAndDelete(@TempDir Path profile) throws Exception {
        try (GatewayFixture fx = new GatewayFixture(Map.of())) {
            ClickHouseAccess ch = fx.clickHouse(); // dropped by fx.close()
            String company = "wsco";
            try (Connection c = PostgresSettings.from(fx.config).connect(); Statement st = c.createStatement()) {
                st.execute("INSERT INTO participants (company_id, user_id, programme, language_group, enrolled_on) VALUES"
                        + " ('wsco', 'w1', 'mentoring', 'de', '2026-09-01'), ('wsco', 'w2', 'mentoring', 'en', '2026-09-01'),"
                        + " ('wsco', 'w3', 'buddy', 'de', '2026-09-01')");
            }
            String page = fx.base() + "/cohorts.html#token=" + fx.tokens.admin(List.of(company)) + "&companyId=" + company
                    + "&metric=sroi&startDate=2026-01-01&endDate=2026-01-31";
            try (Chromium.Page cdp = Chromium.open(profile, page)) {
                await().atMost(WAIT).until(() -> "0 cohorts".equals(cdp.eval("document.getElementById('status').textContent")));
                assertThat(cdp.eval("document.getElementById('new-cohort').hidden")).as("admins get the editor").isEqualTo("false");

                // a static cohort: pasted ids plus a CSV file
                click(cdp, "new-cohort");
                cdp.eval("(document.getElementById('ed-name').value = 'Pasted and uploaded', true)");
                cdp.eval("(document.getElementById('ed-ids').value = 'w1,\\nw2', true)");
                cdp.eval("(() => { const dt = new DataTransfer(); dt.items.add(new File(['userId\\nw3\\n\"w4\"\\n'], 'members.csv', {type: 'text/csv'}));"
                        + " document.getElementById('ed-csv').files = dt.files; return true; })()");
                click(cdp, "ed-save");
                await().atMost(WAIT).until(() -> "1 cohorts".equals(cdp.eval("document.getElementById('status').textContent")));
                assertThat(rowText(cdp, 1)).isEqualTo("|Pasted and uploaded|static|4|");

                // a rule cohort built in the form, with its live preview
                click(cdp, "new-cohort");
                cdp.eval("(document.getElementById('ed-name').value = 'Mentoring', true)");
                click(cdp, "ed-kind-rule");
                setCondition(cdp, 0, "mentoring");
                await().atMost(WAIT).until(() -> "2".equals(cdp.eval("document.getElementById('ed-preview').dataset.members")));
                assertThat(cdp.eval("document.getElementById('ed-preview').textContent")).isEqualTo("2 members now (e.g. w1, w2)");
                setCondition(cdp, 0, "mentoring, buddy");
                await().atMost(WAIT).until(() -> "3".equals(cdp.eval("document.getElementById('ed-preview').dataset.members")));
                setCondition(cdp, 0, "mentoring");
                await().atMost(WAIT).until(() -> "2".equals(cdp.eval("document.getElementById('ed-preview').dataset.members")));
                assertThat(cdp.eval("document.getElementById('ed-rule-json').value")).isEqualTo("{\"attr\":\"programme\",\"in\":[\"mentoring\"]}");
                click(cdp, "ed-add-condition");
                cdp.eval("(() => { const s = document.querySelectorAll('#ed-conditions .c-kind')[1]; s.value = 'languageGroup';"
                        + " s.dispatchEvent(new Event('change')); return true; })()");
                setCondition(cdp, 1, "de");
                await().atMost(WAIT).until(() -> "1".equals(cdp.eval("document.getElementById('ed-preview').dataset.members")));
                cdp.eval("(() => { const n = document.querySelectorAll('#ed-conditions .c-not')[1]; n.checked = true; n.dispatchEvent(new Event('change')); return true; })()");
                await().atMost(WAIT).until(() -> "{\"all\":[{\"attr\":\"programme\",\"in\":[\"mentoring\"]},{\"not\":{\"attr\":\"languageGroup\",\"in\":[\"de\"]}}]}"
                        .equals(cdp.eval("document.getElementById('ed-rule-json').value")));
                await().atMost(WAIT).until(() -> "1".equals(cdp.eval("document.getElementById('ed-preview').dataset.members")));
                click(cdp, "ed-save");
                await().atMost(WAIT).until(() -> "2 cohorts".equals(cdp.eval("document.getElementById('status').textContent")));
                assertThat(rowText(cdp, 2)).as("w2 only: mentoring and not de").isEqualTo("|Mentoring|rule|1|");

                // edit: the form shows the stored rule; drop the second condition
                cdp.eval("(document.querySelector('#row-2 button.edit').click(), true)");
                assertThat(cdp.eval("document.querySelectorAll('#ed-conditions .condition').length")).isEqualTo("2");
                assertThat(cdp.eval("document.querySelectorAll('#ed-conditions .c-values')[0].value")).isEqualTo("mentoring");
                cdp.eval("(document.querySelectorAll('#ed-conditions .c-remove')[1].click(), true)");
                await().atMost(WAIT).until(() -> "2".equals(cdp.eval("document.getElementById('ed-preview').dataset.members")));
                click(cdp, "ed-save");
                await().atMost(WAIT).until(() -> "|Mentoring|rule|2|".equals(rowText(cdp, 2)));

                // compare with intervals, from what the replication would have written to ClickHouse
                ch.insertRows("cohorts", List.of(row("id", 1, "company_id", company, "name", "Pasted and uploaded", "version", 1),
                        row("id", 2, "company_id", company, "name", "Mentoring", "version", 1)));
                ch.insertRows("user_cohorts", List.of(member(company, 1, "w1"), member(company, 1, "w2"), member(company, 2, "w3")));
                ch.insertRows("metrics_timeseries", List.of(obs(company, "w1", "2026-01-05 09:00:00", 2, "a1"),
                        obs(company, "w1", "2026-01-06 09:00:00", 6, "a2"), obs(company, "w2", "2026-01-07 09:00:00", 4, "a3"),
                        obs(company, "w3", "2026-01-08 09:00:00", 10, "a4"), obs(company, "w3", "2026-01-09 09:00:00", 14, "a5")));
                ch.execute(io.csr.common.userdays.UserDailyMetrics.fillAll()); // what the job writes beside them (issue 25)
                click(cdp, "cohort-1");
                click(cdp, "cohort-2");
                click(cdp, "compare");
                await().atMost(WAIT).until(() -> "2".equals(cdp.eval("document.querySelectorAll('#compare-table tbody tr').length")));
                // (p50 exact: one observation per daily row, so the figures are read from the observations,
                // CohortQueries.sourceFor) 10, 14 against 2, 6, 4 by hand: difference 8, df 1.684, t(0.975, df) · se -> [-3.95, 19.95]
                assertThat(cells(cdp, "cmp-2")).isEqualTo("Mentoring|1|2|12.00|14.00|14.00|8.00|-3.95 … 19.95");
                assertThat(cells(cdp, "cmp-1")).isEqualTo("Pasted and uploaded|2|3|4.00|4.00|6.00|first|");

                // the CSV of what the chart shows
                click(cdp, "compare-csv");
                await().atMost(WAIT).until(() -> !"null".equals(cdp.eval("document.getElementById('compare-download').dataset.csv")));
                assertThat(cdp.eval("document.getElementById('compare-download').download")).isEqualTo("cohort-compare-sroi-2026-01-01-2026-01-31.csv");
                assertThat(cdp.eval("document.getElementById('compare-download').href")).startsWith("blob:");
                String csv = cdp.eval("document.getElementById('compare-download').dataset.csv");
                assertThat(csv.split("\r\n")).hasSize(3);
                assertThat(csv.split("\r\n")[0]).isEqualTo("cohortId,cohort,users,count,avg,p50,p95,differenceFromFirst,low95,high95,df");
                assertThat(csv.split("\r\n")[2]).startsWith("2,Mentoring,1,2,12,14,14,8,-3.9539948");

                // delete asks first; No keeps it, Yes deletes
                cdp.eval("(document.querySelector('#row-1 button.delete').click(), true)");
                assertThat(cdp.eval("document.querySelector('#row-1 .actions span').textContent")).isEqualTo("Delete \"Pasted and uploaded\"? ");
                cdp.eval("(document.querySelector('#row-1 button.cancel-delete').click(), true)");
                assertThat(cdp.eval("document.querySelectorAll('#row-1 button.delete').length")).isEqualTo("1");
                cdp.eval("(document.querySelector('#row-1 button.delete').click(), true)");
                cdp.eval("(document.querySelector('#row-1 button.confirm-delete').click(), true)");
                await().atMost(WAIT).until(() -> "deleted Pasted and uploaded".equals(cdp.eval("document.getElementById('status').textContent")));
                assertThat(cdp.eval("document.querySelectorAll('#cohort-table tbody tr').length")).isEqualTo("1");

                // deleted meanwhile (another tab): a 404 explained
                assertThat(send(fx, "DELETE", "/cohorts/2", fx.tokens.admin(List.of(company)))).isEqualTo(204);
                cdp.eval("(document.querySelector('#row-2 button.delete').click(), true)");
                cdp.eval("(document.querySelector('#row-2 button.confirm-delete').click(), true)");
                await().atMost(WAIT).until(() -> cdp.eval("document.getElementById('status').textContent")
                        .equals("Not found: that cohort was deleted or is not one of wsco. Reload the list."));
                assertThat(cdp.eval("document.querySelectorAll('#cohort-table tbody tr').length")).as("the list reloaded").isEqualTo("0");
            }

            // a viewer: read-only, and a forced save is a 403 put in words
            Path viewerProfile = profile.resolve("viewer");
            java.nio.file.Files.createDirectories(viewerProfile);
            String viewerPage = fx.base() + "/cohorts.html#token=" + fx.tokens.forCompany(company) + "&companyId=" + company;
            try (Chromium.Page cdp = Chromium.open(viewerProfile, viewerPage)) {
                await().atMost(WAIT).until(() -> cdp.eval("document.getElementById('status').textContent").endsWith("cohorts"));
                assertThat(cdp.eval("document.getElementById('new-cohort').hidden")).isEqualTo("true");
                assertThat(cdp.eval("document.getElementById('role-note').textContent")).startsWith("Read-only");
                cdp.eval("(window.csrCohorts.openEditor(null), document.getElementById('ed-name').value = 'nope', document.getElementById('ed-save').click(), true)");
                await().atMost(WAIT).until(() -> cdp.eval("document.getElementById('ed-status').textContent")
                        .startsWith("Not allowed: this needs an admin token of wsco"));
            }
        }
    }

    @Test
    void aRateLimitedCallSaysWhenToTryAgain(@TempDir Path profile) throws Exception {
        try (GatewayFixture fx = new GatewayFixture(Map.of(io.csr.common.config.ConfigKey.COHORT_RATE_LIMIT_PER_MINUTE.name(), "2"))) {
            String page = fx.base() + "/cohorts.html#token=" + fx.tokens.forCompany("rlco") + "&companyId=rlco";
            try (Chromium.Page cdp = Chromium.open(profile, page)) {
                await().atMost(WAIT).until(() -> "0 cohorts".equals(cdp.eval("document.getElementById('status').textContent")));
                for (int i = 0; i < 3; i++) {
                    click(cdp, "load");
                }
                await().atMost(WAIT).until(() -> cdp.eval("document.getElementById('status').textContent")
                        .matches("Too many requests for rlco just now: try again in \\d+ s\\."));
                assertThat(cdp.eval("document.getElementById('status').classList.contains('error')")).isEqualTo("true");
            }
        }
    }

    private static void click(Chromium.Page cdp, String id) throws Exception {
        assertThat(cdp.eval("(document.getElementById('" + id + "').click(), true)")).as("#%s exists", id).isEqualTo("true");
    }

    private static void setCondition(Chromium.Page cdp, int index, String values) throws Exception {
        cdp.eval("(() => { const i = document.querySelectorAll('#ed-conditions .c-values')[" + index + "]; i.value = '" + values + "';"
                + " i.dispatchEvent(new Event('input')); return true; })()");
    }

    private static String rowText(Chromium.Page cdp, long id) throws Exception {
        return cdp.eval("[...document.querySelectorAll('#row-" + id + " td')].slice(0, 4).map(t => t.textContent).join('|') + '|'");
    }

    private static String cells(Chromium.Page cdp, String rowId) throws Exception {
        return cdp.eval("[...document.querySelectorAll('#" + rowId + " td')].map(t => t.textContent).join('|')");
    }

    private static int send(GatewayFixture fx, String method, String path, String token) throws Exception {
        return fx.send(method, path, token, null, null).statusCode();
    }

    private static Map<String, Object> row(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    private static Map<String, Object> member(String company, long cohort, String user) {
        return row("cohort_id", cohort, "company_id", company, "user_id", user, "active", 1, "version", 1);
    }

    private static Map<String, Object> obs(String company, String user, String ts, double value, String eventId) {
        return row("company_id", company, "metric", "sroi", "user_id", user, "ts", ts, "ts_ms", 0, "value", value, "event_id", eventId);
    }


}
