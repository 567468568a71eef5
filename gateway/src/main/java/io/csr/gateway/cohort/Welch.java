package io.csr.gateway.cohort;

/**
 * The difference of two cohorts' averages with its 95 % confidence interval by Welch's t method (unequal variances),
 * the formula in docs/analytics.md ("Compare with confidence"): for cohort b against the base a, with n observations,
 * mean m and sample variance s² = stddevPop² · n / (n − 1),
 * <pre>
 *   d  = m_b − m_a,   se = √(s_a²/n_a + s_b²/n_b)
 *   df = se⁴ / ( (s_a²/n_a)²/(n_a − 1) + (s_b²/n_b)²/(n_b − 1) )        (Welch–Satterthwaite)
 *   d ± t(0.975, df) · se
 * </pre>
 * The Student t quantile is computed here (bisection on the CDF through the regularized incomplete beta function,
 * Numerical Recipes' continued fraction), so no statistics library is needed for one number.
 */
final class Welch {
    static final double CONFIDENCE = 0.95;

    private Welch() {
    }

    /** {@code low}/{@code high}/{@code df} are null when either side has fewer than 2 observations (no variance). */
    record Interval(Double difference, Double low, Double high, Double df) {
    }

    static Interval of(long nA, Double meanA, Double stddevPopA, long nB, Double meanB, Double stddevPopB) {
        if (nA == 0 || nB == 0 || meanA == null || meanB == null) {
            return new Interval(null, null, null, null);
        }
        double d = meanB - meanA;
        if (nA < 2 || nB < 2) {
            return new Interval(d, null, null, null);
        }
        double va = stddevPopA * stddevPopA * nA / (nA - 1) / nA;
        double vb = stddevPopB * stddevPopB * nB / (nB - 1) / nB;
        double se2 = va + vb;
        if (se2 == 0) {
            return new Interval(d, d, d, null);   // no spread on either side: the difference is exact
        }
        double df = se2 * se2 / (va * va / (nA - 1) + vb * vb / (nB - 1));
        double half = tQuantile(0.5 + CONFIDENCE / 2, df) * Math.sqrt(se2);
        return new Interval(d, d - half, d + half, df);
    }

    /** The p-quantile (p in (0.5, 1)) of Student's t with {@code df} degrees of freedom. */
    static double tQuantile(double p, double df) {
        double lo = 0;
        double hi = 1;
        while (tCdf(hi, df) < p) {
            hi *= 2;
        }
        for (int i = 0; i < 200 && hi - lo > 1e-13 * hi; i++) {
            double mid = (lo + hi) / 2;
            if (tCdf(mid, df) < p) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return (lo + hi) / 2;
    }

    /** P(T <= t) for t >= 0. */
    static double tCdf(double t, double df) {
        return 1 - 0.5 * incompleteBeta(df / 2, 0.5, df / (df + t * t));
    }

    /** The regularized incomplete beta function I_x(a, b). */
    static double incompleteBeta(double a, double b, double x) {
        if (x <= 0) {
            return 0;
        }
        if (x >= 1) {
            return 1;
        }
        double front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
        if (x < (a + 1) / (a + b + 2)) {
            return front * betaFraction(a, b, x) / a;
        }
        return 1 - front * betaFraction(b, a, 1 - x) / b;
    }

    /** Lentz's continued fraction for the incomplete beta function. */
    private static double betaFraction(double a, double b, double x) {
        double tiny = 1e-300;
        double c = 1;
        double d = 1 - (a + b) * x / (a + 1);
        d = 1 / (Math.abs(d) < tiny ? tiny : d);
        double h = d;
        for (int m = 1; m <= 1000; m++) {
            int m2 = 2 * m;
            double num = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
            d = 1 + num * d;
            d = 1 / (Math.abs(d) < tiny ? tiny : d);
            c = 1 + num / c;
            c = Math.abs(c) < tiny ? tiny : c;
            h *= d * c;
            num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
            d = 1 + num * d;
            d = 1 / (Math.abs(d) < tiny ? tiny : d);
            c = 1 + num / c;
            c = Math.abs(c) < tiny ? tiny : c;
            double del = d * c;
            h *= del;
            if (Math.abs(del - 1) < 1e-15) {
                break;
            }
        }
        return h;
    }

    /** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error below 1e-15). */
    static double logGamma(double x) {
        double[] g = {0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
                12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7};
        if (x < 0.5) {
            return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
        }
        x -= 1;
        double a = g[0];
        double t = x + 7.5;
        for (int i = 1; i < 9; i++) {
            a += g[i] / (x + i);
        }
        return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
    }
}
