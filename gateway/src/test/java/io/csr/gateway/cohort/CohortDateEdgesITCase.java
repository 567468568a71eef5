package io.csr.gateway.cohort;

import io.csr.common.clickhouse.ClickHouseAccess;
import io.csr.gateway.GatewayFixture;
import io.csr.gateway.cohort.CohortHttp.Answer;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.csr.gateway.cohort.CohortAnalyticsITCase.cohort;
import static io.csr.gateway.cohort.CohortAnalyticsITCase.insertAsWritten;
import static io.csr.gateway.cohort.CohortAnalyticsITCase.member;
import static io.csr.gateway.cohort.CohortAnalyticsITCase.obs;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 28, finding 3: the edges of the accepted dates (1970-01-01 and 2105-12-31) are answered from real
 * ClickHouse 18.16 data, not with an empty answer or a 500. Before: a range ending 2105-12-31 compared ts with the
 * text '2106-01-01 00:00:00', which 18.16 parses as 0 (empty answer), and a trend period of day 0 came back as
 * 0000-00-00 (unparsable: 500).
 */
class CohortDateEdgesITCase {
    @AutoClose private static GatewayFixture fx; // closed after the last test: stops the gateway, drops its namespace
    private static ClickHouseAccess ch;
    private static CohortHttp http;
    private static String token;

    @BeforeAll
    static void seed() {
        fx = new GatewayFixture(Map.of("ANALYTICS_REFRESH_SECONDS", "0"));
        ch = fx.clickHouse(); // dropped by fx.close()
        http = new CohortHttp(fx.base());
        token = fx.tokens.forCompany("edge");
        insertAsWritten(ch, List.of(cohort(1, "edge", "edges", 0, 1)), List.of(member(1, "edge", "u1", 1, 1)), List.of(
                obs("edge", "sroi", "u1", "1970-01-01 00:30:00", 2, "first-day"),
                obs("edge", "sroi", "u1", "1970-01-05 10:00:00", 4, "first-monday"),
                obs("edge", "sroi", "u1", "2105-12-31 12:00:00", 8, "last-day")));
    }

    @Test
    void theLastAcceptedDayIsCounted() throws Exception {
        Answer a = http.get("/cohort/1/metrics?metric=sroi&startDate=2105-12-01&endDate=2105-12-31", token);
        assertThat(a.status()).as(a.body()).isEqualTo(200);
        assertThat(a.json().path("count").asLong()).isEqualTo(1);
        assertThat(a.json().path("avg").asDouble()).isEqualTo(8.0);
    }

    @Test
    void theFirstAcceptedDayIsCountedAndItsPeriodsAreDates() throws Exception {
        Answer metrics = http.get("/cohort/1/metrics?metric=sroi&startDate=1970-01-01&endDate=1970-01-31", token);
        assertThat(metrics.status()).as(metrics.body()).isEqualTo(200);
        assertThat(metrics.json().path("count").asLong()).isEqualTo(2);
        for (String interval : List.of("day", "week", "month")) {
            Answer trends = http.get("/cohort/1/trends?metric=sroi&interval=" + interval + "&startDate=1970-01-01&endDate=1970-01-31", token);
            assertThat(trends.status()).as(interval + ": " + trends.body()).isEqualTo(200);
            assertThat(trends.json().path("points").get(0).path("periodStart").asText()).as(interval).isEqualTo("1970-01-01");
        }
    }
}
