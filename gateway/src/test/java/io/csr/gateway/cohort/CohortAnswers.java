package io.csr.gateway.cohort;

import io.csr.gateway.cohort.CohortParams.DateRange;
import io.csr.gateway.cohort.CohortParams.Interval;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.assertj.core.api.Assertions.withinPercentage;

/**
 * How the cohort ITCases compare one way of answering with another ({@link CohortAnalyticsITCase}: the shortcuts
 * against the raw computation; {@link CohortReadWithoutFinalITCase} and perf/cohort's
 * {@code ReplicatedReadWithoutFinalITCase}, through this module's test-jar: reads without FINAL against reads with).
 */
final class CohortAnswers {
    private CohortAnswers() {
    }

    /**
     * Figures {@code a} agree with {@code raw}: counts, users, min and max exactly, avg and stddev to 1e-9, quantiles to
     * 1 % (the shortcuts keep them as 0.5 % bins).
     */
    static void assertSame(CohortQueries.Figures a, CohortQueries.Figures raw, String what) {
        assertThat(a.count()).as(what).isEqualTo(raw.count());
        assertThat(a.users()).as(what).isEqualTo(raw.users());
        if (raw.count() == 0) {
            assertThat(a).as(what).isEqualTo(raw);
            return;
        }
        assertThat(a.avg()).as(what).isCloseTo(raw.avg(), within(1e-9));
        assertThat(a.min()).as(what).isEqualTo(raw.min());
        assertThat(a.max()).as(what).isEqualTo(raw.max());
        assertThat(a.stddev()).as(what).isCloseTo(raw.stddev(), within(1e-9));
        assertThat(a.p50()).as(what).isCloseTo(raw.p50(), withinPercentage(1));
        assertThat(a.p75()).as(what).isCloseTo(raw.p75(), withinPercentage(1));
        assertThat(a.p95()).as(what).isCloseTo(raw.p95(), withinPercentage(1));
    }

    /**
     * The seven answers of {@code q} for cohort {@code one} of {@code company} over {@code r} are those of
     * {@code reference}: metrics (sroi), overview, trends by day, week and month (sroi), compare of cohorts 31 and 32
     * (hours), top (sroi). {@code at} names the case in failures.
     */
    static void assertSevenSame(CohortQueries q, CohortQueries reference, CohortQueries.CohortRef one, String company, DateRange r,
                                String at) {
        assertSame(q.metrics(one, "sroi", r), reference.metrics(one, "sroi", r), "metrics " + at);
        Map<String, CohortQueries.Figures> o = q.overview(one, r);
        Map<String, CohortQueries.Figures> ref = reference.overview(one, r);
        assertThat(o.keySet()).as(at).isEqualTo(ref.keySet());
        o.forEach((m, f) -> assertSame(f, ref.get(m), "overview " + m + " " + at));
        for (Interval interval : Interval.values()) {
            List<CohortQueries.TrendRow> a = q.trends(one, "sroi", interval, r);
            List<CohortQueries.TrendRow> b = reference.trends(one, "sroi", interval, r);
            assertThat(a).as(at).hasSameSizeAs(b);
            for (int i = 0; i < a.size(); i++) {
                assertThat(a.get(i).count()).as(at).isEqualTo(b.get(i).count());
                assertThat(a.get(i).avg()).as(at).isCloseTo(b.get(i).avg(), within(1e-9));
            }
        }
        Map<Long, CohortQueries.Figures> c = q.compare(company, List.of(31L, 32L), "hours", r);
        Map<Long, CohortQueries.Figures> cr = reference.compare(company, List.of(31L, 32L), "hours", r);
        assertThat(c.keySet()).as(at).isEqualTo(cr.keySet());
        c.forEach((id, f) -> assertSame(f, cr.get(id), "compare " + id + " " + at));
        List<CohortQueries.TopRow> top = q.top(company, "sroi", r, 10);
        List<CohortQueries.TopRow> topRef = reference.top(company, "sroi", r, 10);
        assertThat(top).as("top " + at).hasSameSizeAs(topRef);
        for (int i = 0; i < top.size(); i++) {
            assertThat(top.get(i).cohortId()).as("top " + at).isEqualTo(topRef.get(i).cohortId());
            assertThat(top.get(i).users()).as("top " + at).isEqualTo(topRef.get(i).users());
            assertThat(top.get(i).count()).as("top " + at).isEqualTo(topRef.get(i).count());
            assertThat(top.get(i).avg()).as("top " + at).isCloseTo(topRef.get(i).avg(), within(1e-9));
        }
    }
}
