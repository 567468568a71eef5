package io.csr.gateway.participants;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Parses the body of {@code POST /participants:import}: RFC 4180 CSV (comma, double quotes, {@code ""} inside quotes,
 * CRLF or LF) with a header naming the columns in any order — {@code userId}, {@code programme}, {@code enrolledOn}
 * required; {@code languageGroup}, {@code leftOn}, {@code outcome} optional. Each data row becomes a participant or a
 * {@link RowError} naming its line and field; a user listed twice keeps its first row and the repeat is an error.
 */
public final class ParticipantCsv {
    static final List<String> REQUIRED = List.of("userId", "programme", "enrolledOn");
    static final List<String> OPTIONAL = List.of("languageGroup", "leftOn", "outcome");
    public static final int MAX_ROWS = 100_000;

    public record RowError(int line, String userId, String field, String message) {
    }

    public record Parsed(List<Participant> participants, List<RowError> errors, int rows) {
    }

    private ParticipantCsv() {
    }

    /** @throws IllegalArgumentException when the header is unusable or the file has more than {@link #MAX_ROWS} rows */
    public static Parsed parse(String text) {
        List<Line> lines = records(text);
        if (lines.isEmpty()) {
            throw new IllegalArgumentException("the CSV is empty; the first line must be a header like "
                    + "userId,programme,languageGroup,enrolledOn,leftOn,outcome");
        }
        Map<String, Integer> columns = header(lines.get(0));
        if (lines.size() - 1 > MAX_ROWS) {
            throw new IllegalArgumentException("the CSV has " + (lines.size() - 1) + " rows; at most " + MAX_ROWS
                    + " per request: split the file");
        }
        List<Participant> ok = new ArrayList<>();
        List<RowError> errors = new ArrayList<>();
        Map<String, Integer> seen = new HashMap<>();
        for (Line l : lines.subList(1, lines.size())) {
            String userId = cell(l, columns, "userId");
            if (l.cells().size() != columns.size()) {
                errors.add(new RowError(l.number(), userId, null, "line has " + l.cells().size() + " fields, the header has " + columns.size()));
                continue;
            }
            try {
                Participant p = Participant.of(userId, cell(l, columns, "programme"), cell(l, columns, "languageGroup"),
                        cell(l, columns, "enrolledOn"), cell(l, columns, "leftOn"), cell(l, columns, "outcome"));
                Integer first = seen.putIfAbsent(p.userId(), l.number());
                if (first != null) {
                    errors.add(new RowError(l.number(), p.userId(), "userId", "userId " + p.userId() + " already appears on line " + first
                            + "; list each participant once"));
                } else {
                    ok.add(p);
                }
            } catch (Participant.Invalid e) {
                errors.add(new RowError(l.number(), userId, e.field(), e.getMessage()));
            }
        }
        return new Parsed(ok, errors, lines.size() - 1);
    }

    private static Map<String, Integer> header(Line h) {
        Map<String, String> known = new HashMap<>();
        for (String c : REQUIRED) {
            known.put(c.toLowerCase(Locale.ROOT), c);
        }
        for (String c : OPTIONAL) {
            known.put(c.toLowerCase(Locale.ROOT), c);
        }
        Map<String, Integer> columns = new LinkedHashMap<>();
        for (int i = 0; i < h.cells().size(); i++) {
            String name = h.cells().get(i).strip();
            String canonical = known.get(name.toLowerCase(Locale.ROOT));
            if (canonical == null) {
                throw new IllegalArgumentException("unknown column '" + name + "' in the CSV header; columns are " + REQUIRED
                        + " (required) and " + OPTIONAL + " (optional)");
            }
            if (columns.putIfAbsent(canonical, i) != null) {
                throw new IllegalArgumentException("column " + canonical + " appears twice in the CSV header");
            }
        }
        for (String c : REQUIRED) {
            if (!columns.containsKey(c)) {
                throw new IllegalArgumentException("the CSV header lacks the required column " + c + " (header: " + h.cells() + ")");
            }
        }
        return columns;
    }

    private static String cell(Line l, Map<String, Integer> columns, String name) {
        Integer i = columns.get(name);
        return i == null || i >= l.cells().size() ? null : l.cells().get(i);
    }

    private record Line(int number, List<String> cells) {
    }

    /** Splits into records of cells; blank lines are skipped; {@code number} is the 1-based line where a record starts. */
    static List<Line> records(String text) {
        List<Line> out = new ArrayList<>();
        List<String> cells = new ArrayList<>();
        StringBuilder cell = new StringBuilder();
        int line = 1;
        int start = 1;
        boolean quoted = false;
        boolean any = false;
        int n = text.length();
        int i = text.startsWith("\uFEFF") ? 1 : 0;
        for (; i < n; i++) {
            char c = text.charAt(i);
            if (quoted) {
                if (c == '"') {
                    if (i + 1 < n && text.charAt(i + 1) == '"') {
                        cell.append('"');
                        i++;
                    } else {
                        quoted = false;
                    }
                } else {
                    if (c == '\n') {
                        line++;
                    }
                    cell.append(c);
                }
            } else if (c == '"' && cell.isEmpty()) {
                quoted = true;
                any = true;
            } else if (c == ',') {
                cells.add(cell.toString());
                cell.setLength(0);
                any = true;
            } else if (c == '\r' || c == '\n') {
                if (c == '\r' && i + 1 < n && text.charAt(i + 1) == '\n') {
                    i++;
                }
                if (any || !cell.isEmpty()) {
                    cells.add(cell.toString());
                    out.add(new Line(start, List.copyOf(cells)));
                }
                cells.clear();
                cell.setLength(0);
                any = false;
                line++;
                start = line;
            } else {
                cell.append(c);
            }
        }
        if (quoted) {
            throw new IllegalArgumentException("the CSV ends inside a quoted field that starts on line " + start + "; close its double quote");
        }
        if (any || !cell.isEmpty()) {
            cells.add(cell.toString());
            out.add(new Line(start, List.copyOf(cells)));
        }
        return out;
    }
}
