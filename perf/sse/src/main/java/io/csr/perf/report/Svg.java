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

    private Svg() {
    }

    /** Grouped bars: one group per x label, one bar per series (e.g. ours / nchan / pushpin), value axis from 0. */
    static String bars(String title, String unit, List<String> groups, Map<String, double[]> series) {
        double max = 0;
        for (double[] v : series.values()) {
            for (double d : v) {
                max = Math.max(max, d);
            }
        }
        max = niceMax(max);
        StringBuilder s = head(title);
        axis(s, max, unit);
        int plotW = W - L - 20;
        double groupW = plotW / (double) Math.max(1, groups.size());
        double barW = groupW * 0.8 / Math.max(1, series.size());
        int si = 0;
        for (Map.Entry<String, double[]> e : series.entrySet()) {
            for (int g = 0; g < groups.size() && g < e.getValue().length; g++) {
                double v = e.getValue()[g];
                double h = max == 0 ? 0 : (H - B - 30) * v / max;
                double x = L + g * groupW + groupW * 0.1 + si * barW;
                s.append(fmt("<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='%s'><title>%s %s: %s %s</title></rect>",
                        x, H - B - h, barW - 2, h, COLORS[si % COLORS.length], esc(e.getKey()), esc(groups.get(g)), num(v), unit));
                s.append(fmt("<text x='%.1f' y='%.1f' font-size='9' text-anchor='middle'>%s</text>", x + barW / 2 - 1, H - B - h - 3, num(v)));
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
        double max = 0;
        int n = 1;
        for (double[] v : series.values()) {
            n = Math.max(n, v.length);
            for (double d : v) {
                max = Math.max(max, d);
            }
        }
        max = niceMax(max);
        StringBuilder s = head(title);
        axis(s, max, unit);
        int plotW = W - L - 20;
        int si = 0;
        for (Map.Entry<String, double[]> e : series.entrySet()) {
            StringBuilder pts = new StringBuilder();
            double[] v = e.getValue();
            for (int i = 0; i < v.length; i++) {
                double x = L + (n == 1 ? 0 : plotW * i / (double) (n - 1));
                double y = H - B - (max == 0 ? 0 : (H - B - 30) * v[i] / max);
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

    private static void axis(StringBuilder s, double max, String unit) {
        s.append(fmt("<line x1='%d' y1='30' x2='%d' y2='%d' stroke='#444'/>", L, L, H - B));
        s.append(fmt("<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='#444'/>", L, H - B, W - 20, H - B));
        for (int t = 0; t <= 4; t++) {
            double v = max * t / 4;
            double y = H - B - (H - B - 30) * t / 4.0;
            s.append(fmt("<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='#ddd'/>", L, y, W - 20, y));
            s.append(fmt("<text x='%d' y='%.1f' font-size='10' text-anchor='end'>%s</text>", L - 4, y + 3, num(v)));
        }
        s.append(fmt("<text x='12' y='%d' font-size='10' transform='rotate(-90 12 %d)'>%s</text>", H / 2, H / 2, esc(unit)));
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
