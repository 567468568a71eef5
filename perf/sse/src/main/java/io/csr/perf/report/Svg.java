package io.csr.perf.report;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Tiny inline-SVG charts, so the HTML report is one self-contained file (no script, no external asset). */
final class Svg {
    static final String[] COLORS = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};
    private static final int W = 640;
    private static final int H = 260;
    private static final int L = 60;
    private static final int B = 40;

    /** Values spanning more than this factor get a log axis, so a system 1,000× slower does not flatten the others to 0. */
    static final double LOG_SPREAD = 50;

    private Svg() {
    }

    /** A value axis: linear from 0, or log10 between powers of ten when the positive values span more than {@link #LOG_SPREAD}×. */
    record Scale(boolean log, double lo, double hi) {
        static Scale of(Iterable<double[]> series) {
            double max = 0;
            double minPositive = Double.MAX_VALUE;
            for (double[] v : series) {
                for (double d : v) {
                    if (d > 0 && Double.isFinite(d)) {
                        max = Math.max(max, d);
                        minPositive = Math.min(minPositive, d);
                    }
                }
            }
            if (max > 0 && max / minPositive > LOG_SPREAD) {
                return new Scale(true, Math.pow(10, Math.floor(Math.log10(minPositive))), Math.pow(10, Math.ceil(Math.log10(max))));
            }
            return new Scale(false, 0, niceMax(max));
        }

        /** Height above the x axis for v, out of {@code full}. */
        double height(double v, double full) {
            if (!(v > 0) || !Double.isFinite(v)) {
                return 0;
            }
            if (!log) {
                return full * v / hi;
            }
            double at = (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo));
            return full * Math.max(0.02, at); // the smallest value still shows as a sliver
        }

        double[] ticks() {
            if (!log) {
                return new double[]{0, hi / 4, hi / 2, 3 * hi / 4, hi};
            }
            int from = (int) Math.round(Math.log10(lo));
            int to = (int) Math.round(Math.log10(hi));
            double[] t = new double[to - from + 1];
            for (int i = 0; i < t.length; i++) {
                t[i] = Math.pow(10, from + i);
            }
            return t;
        }
    }

    /** Grouped bars: one group per x label, one bar per series (e.g. ours / nchan / pushpin), value axis from 0. */
    static String bars(String title, String unit, List<String> groups, Map<String, double[]> series) {
        Scale scale = Scale.of(series.values());
        StringBuilder s = head(title);
        axis(s, scale, unit);
        int plotW = W - L - 20;
        double groupW = plotW / (double) Math.max(1, groups.size());
        double barW = groupW * 0.8 / Math.max(1, series.size());
        int si = 0;
        for (Map.Entry<String, double[]> e : series.entrySet()) {
            for (int g = 0; g < groups.size() && g < e.getValue().length; g++) {
                double v = e.getValue()[g];
                double h = scale.height(v, H - B - 30);
                double x = L + g * groupW + groupW * 0.1 + si * barW;
                s.append(fmt("<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='%s'><title>%s %s: %s %s</title></rect>",
                        x, H - B - h, barW - 2, h, COLORS[si % COLORS.length], esc(e.getKey()), esc(groups.get(g)), label(v), unit));
                s.append(fmt("<text x='%.1f' y='%.1f' font-size='9' text-anchor='middle'>%s</text>", x + barW / 2 - 1, H - B - h - 3, label(v)));
            }
            si++;
        }
        for (int g = 0; g < groups.size(); g++) {
            s.append(fmt("<text x='%.1f' y='%d' font-size='11' text-anchor='middle'>%s</text>", L + g * groupW + groupW / 2, H - B + 16, esc(groups.get(g))));
        }
        legend(s, series.keySet());
        return s.append("</svg>").toString();
    }

    /** Lines over x = index (seconds), one per series. */
    static String lines(String title, String unit, Map<String, double[]> series) {
        int n = 1;
        for (double[] v : series.values()) {
            n = Math.max(n, v.length);
        }
        Scale scale = Scale.of(series.values());
        StringBuilder s = head(title);
        axis(s, scale, unit);
        int plotW = W - L - 20;
        int si = 0;
        for (Map.Entry<String, double[]> e : series.entrySet()) {
            StringBuilder pts = new StringBuilder();
            double[] v = e.getValue();
            for (int i = 0; i < v.length; i++) {
                if (Double.isNaN(v[i])) {
                    continue; // no value that second (nothing delivered): no point, rather than a false 0
                }
                double x = L + (n == 1 ? 0 : plotW * i / (double) (n - 1));
                double y = H - B - scale.height(v[i], H - B - 30);
                pts.append(fmt("%.1f,%.1f ", x, y));
            }
            s.append(fmt("<polyline fill='none' stroke='%s' stroke-width='2' points='%s'/>", COLORS[si++ % COLORS.length], pts));
        }
        s.append(fmt("<text x='%d' y='%d' font-size='11' text-anchor='middle'>second of the measured phase (0 … %d)</text>", L + plotW / 2, H - B + 28, n - 1));
        legend(s, series.keySet());
        return s.append("</svg>").toString();
    }

    private static StringBuilder head(String title) {
        return new StringBuilder(fmt("<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' font-family='sans-serif'>"
                + "<text x='%d' y='16' font-size='13' font-weight='bold'>%s</text>", W, H, L, esc(title)));
    }

    private static void axis(StringBuilder s, Scale scale, String unit) {
        s.append(fmt("<line x1='%d' y1='30' x2='%d' y2='%d' stroke='#444'/>", L, L, H - B));
        s.append(fmt("<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='#444'/>", L, H - B, W - 20, H - B));
        for (double v : scale.ticks()) {
            double y = H - B - (v == 0 ? 0 : scale.height(v, H - B - 30));
            s.append(fmt("<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='#ddd'/>", L, y, W - 20, y));
            s.append(fmt("<text x='%d' y='%.1f' font-size='10' text-anchor='end'>%s</text>", L - 4, y + 3, num(v)));
        }
        s.append(fmt("<text x='12' y='%d' font-size='10' transform='rotate(-90 12 %d)'>%s</text>", H / 2, H / 2,
                esc(unit + (scale.log() ? " (log scale)" : ""))));
    }

    /** A bar's value; NaN (no figure: an incomplete or missing run) shows as n/a. */
    private static String label(double v) {
        return Double.isNaN(v) ? "n/a" : num(v);
    }

    private static void legend(StringBuilder s, Iterable<String> names) {
        int i = 0;
        for (String name : names) {
            int x = W - 150;
            int y = 30 + i * 14;
            s.append(fmt("<rect x='%d' y='%d' width='10' height='10' fill='%s'/><text x='%d' y='%d' font-size='11'>%s</text>",
                    x, y, COLORS[i % COLORS.length], x + 14, y + 9, esc(name)));
            i++;
        }
    }

    static double niceMax(double v) {
        if (v <= 0) {
            return 1;
        }
        double p = Math.pow(10, Math.floor(Math.log10(v)));
        for (double m : new double[]{1, 2, 2.5, 5, 10}) {
            if (m * p >= v) {
                return m * p;
            }
        }
        return 10 * p;
    }

    static String num(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return String.format(Locale.ROOT, "%,d", (long) v);
        }
        return String.format(Locale.ROOT, Math.abs(v) >= 100 ? "%,.0f" : Math.abs(v) >= 10 ? "%.1f" : "%.2f", v);
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#39;").replace("\"", "&quot;");
    }

    private static String fmt(String f, Object... a) {
        return String.format(Locale.ROOT, f, a);
    }
}
