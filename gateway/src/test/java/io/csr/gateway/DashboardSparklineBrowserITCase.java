package io.csr.gateway;

import io.csr.common.clickhouse.ClickHouseAccess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.csr.gateway.Chromium.WAIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Headless Chromium on the live dashboard: each metric card's sparkline starts from the snapshot's minute windows of
 * the last hour (ClickHouse {@code metric_windows}) and moves with live {@code metric_updated} events of 1-minute
 * windows; the larger chart of a chosen metric follows the same points.
 */
class DashboardSparklineBrowserITCase {
    private static final DateTimeFormatter CH = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneOffset.UTC);

    @Test
    void sparklinesStartFromTheSnapshotsLastHourAndMoveWithLiveEvents(@TempDir Path profile) throws Exception {
        try (GatewayFixture fx = new GatewayFixture(Map.of())) {
            ClickHouseAccess ch = fx.clickHouse(); // dropped by fx.close()
            String company = "sparkco";
            Instant minute = Instant.now().truncatedTo(ChronoUnit.MINUTES);
            List<Map<String, Object>> rows = new ArrayList<>();
            rows.add(window(company, "1m", minute.minus(Duration.ofMinutes(90)), 50));   // older than an hour: not drawn
            rows.add(window(company, "1m", minute.minus(Duration.ofMinutes(30)), 1));
            rows.add(window(company, "1m", minute.minus(Duration.ofMinutes(20)), 2));
            rows.add(window(company, "1m", minute.minus(Duration.ofMinutes(10)), 3));
            rows.add(window(company, "1h", minute.truncatedTo(ChronoUnit.HOURS), 9));   // another window size: not a point
            ch.insertRows("metric_windows", rows);

            try (Chromium.Page cdp = Chromium.openLiveDashboard(profile, fx, company)) {
                await().atMost(WAIT).until(() -> "3".equals(cdp.eval("document.querySelector('#m-hours .spark').dataset.points")));
                assertThat(cdp.eval("document.querySelector('#m-hours .spark polyline').getAttribute('points').split(' ').length")).isEqualTo("3");

                cdp.eval("(document.querySelector('#m-hours button.chart').click(), true)");
                assertThat(cdp.eval("document.getElementById('detail').hidden")).isEqualTo("false");
                assertThat(cdp.eval("document.getElementById('detail-chart').dataset.points")).isEqualTo("3");
                assertThat(cdp.eval("document.getElementById('detail-title').textContent")).isEqualTo("hours: average per minute, last 60 minutes");

                // live: a new minute moves both; a repeat of it replaces its point; an hourly window adds none
                String now = DateTimeFormatter.ISO_INSTANT.format(minute);
                fx.xadd(company, "metric_updated", update(company, "1m", now, 4.0, 1));
                await().atMost(WAIT).until(() -> "4".equals(cdp.eval("document.querySelector('#m-hours .spark').dataset.points")));
                assertThat(cdp.eval("document.getElementById('detail-chart').dataset.points")).isEqualTo("4");
                String before = cdp.eval("document.querySelector('#m-hours .spark polyline').getAttribute('points')");
                fx.xadd(company, "metric_updated", update(company, "1m", now, 8.0, 2));
                fx.xadd(company, "metric_updated", update(company, "1h", DateTimeFormatter.ISO_INSTANT.format(minute.truncatedTo(ChronoUnit.HOURS)), 5.0, 3));
                await().atMost(WAIT).until(() -> !before.equals(cdp.eval("document.querySelector('#m-hours .spark polyline').getAttribute('points')")));
                assertThat(cdp.eval("document.querySelector('#m-hours .spark').dataset.points")).isEqualTo("4");
                assertThat(cdp.eval("document.getElementById('detail-chart').dataset.points")).isEqualTo("4");
                // an hour later the oldest points leave
                fx.xadd(company, "metric_updated", update(company, "1m", DateTimeFormatter.ISO_INSTANT.format(minute.plus(Duration.ofMinutes(45))), 1.0, 1));
                await().atMost(WAIT).until(() -> "3".equals(cdp.eval("document.querySelector('#m-hours .spark').dataset.points")));
                assertThat(cdp.eval("document.getElementById('detail-chart').dataset.points")).as("minutes -10, 0, +45: -30 and -20 left").isEqualTo("3");
            }
        }
    }

    private static String update(String company, String window, String windowStart, double avg, long version) {
        return "{\"companyId\":\"" + company + "\",\"metric\":\"hours\",\"window\":\"" + window + "\",\"windowStart\":\"" + windowStart + "\","
                + "\"count\":1,\"sum\":" + avg + ",\"min\":" + avg + ",\"max\":" + avg + ",\"avg\":" + avg + ",\"p50\":" + avg + ",\"p75\":" + avg
                + ",\"p95\":" + avg + ",\"stddev\":0.0,\"version\":" + version + ",\"final\":false}";
    }

    private static Map<String, Object> window(String company, String size, Instant start, double avg) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("company_id", company); r.put("metric", "hours"); r.put("window_size", size);
        r.put("window_start", CH.format(start));
        r.put("window_end", CH.format(start.plus(size.equals("1m") ? Duration.ofMinutes(1) : Duration.ofHours(1))));
        r.put("count", 1); r.put("sum", avg); r.put("min", avg); r.put("max", avg); r.put("avg", avg);
        r.put("p50", avg); r.put("p75", avg); r.put("p95", avg); r.put("stddev", 0.0); r.put("version", 1);
        r.put("final", 1); r.put("updated_at", CH.format(start));
        return r;
    }

}
