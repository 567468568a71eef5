package io.csr.gateway.participants;

import io.csr.gateway.http.InputRules;
import io.csr.gateway.http.RequestBodies;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;

import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Parses the body of {@code POST /participants:import} as it arrives: RFC 4180 CSV (Apache Commons CSV: comma, double
 * quotes, {@code ""} inside quotes, CRLF or LF) with a header naming the columns in any order — {@code userId},
 * {@code programme}, {@code enrolledOn} required; {@code languageGroup}, {@code leftOn}, {@code outcome} optional.
 * Each data row becomes a participant or a {@link RowError} naming its line and field; a user listed twice keeps its
 * first row and the repeat is an error. Reading stops at the first limit crossed — more than {@link #MAX_ROWS} rows,
 * a physical line longer than {@link #MAX_LINE_CHARS} characters (or the caller's byte limit, thrown by its stream)
 * — so a hostile file costs at most one row-limit's worth of rows, never the whole body.
 */
public final class ParticipantCsv {
    static final List<String> REQUIRED = List.of("userId", "programme", "enrolledOn");
    static final List<String> OPTIONAL = List.of("languageGroup", "leftOn", "outcome");
    public static final int MAX_ROWS = 100_000;
    /** Every column at its longest, each quoted with every quote doubled, fits with room to spare. */
    public static final int MAX_LINE_CHARS = 4_096;
    private static final CSVFormat FORMAT = CSVFormat.RFC4180.builder().setIgnoreEmptyLines(false).get();

    public record RowError(int line, String userId, String field, String message) {
    }

    /** A participant and the line its row starts on. */
    public record Row(int line, Participant participant) {
    }

    public record Parsed(List<Row> valid, List<RowError> errors, int rows) {
        public List<Participant> participants() {
            return valid.stream().map(Row::participant).toList();
        }
    }

    /** The file is unusable as a whole (header, structure, a limit): a 400 naming why. */
    public static final class Refused extends IllegalArgumentException {
        Refused(String message) {
            super(message);
        }
    }

    private ParticipantCsv() {
    }

    /** {@link #parse(Reader)} of a string (tests). */
    public static Parsed parse(String text) {
        try {
            return parse(new StringReader(text));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * @throws Refused when the header is unusable, a quoted field never ends, a line is too long or there are more than
     *                 {@link #MAX_ROWS} rows
     * @throws IOException what {@code in} throws (e.g. the body limit, malformed UTF-8)
     */
    public static Parsed parse(Reader in) throws IOException {
        LineLimit lines = new LineLimit(in, MAX_LINE_CHARS);
        try (CSVParser parser = FORMAT.parse(lines)) {
            Iterator<CSVRecord> it = parser.iterator();
            long lastEnd = 0; // physical lines consumed by the records so far
            Map<String, Integer> columns = null;
            List<Row> ok = new ArrayList<>();
            List<RowError> errors = new ArrayList<>();
            Map<String, Integer> seen = new HashMap<>();
            int rows = 0;
            while (true) {
                int line = (int) lastEnd + 1;
                CSVRecord r;
                try {
                    if (!it.hasNext()) {
                        break;
                    }
                    r = it.next();
                } catch (UncheckedIOException e) {
                    throw malformed(e.getCause(), line);
                }
                lastEnd = parser.getCurrentLineNumber();
                if (r.size() == 1 && r.get(0).isEmpty()) {
                    continue; // a blank line
                }
                List<String> cells = r.toList();
                if (columns == null) {
                    columns = header(cells);
                    continue;
                }
                if (++rows > MAX_ROWS) {
                    throw new Refused("the CSV has more than " + MAX_ROWS + " rows (row " + rows + " starts on line " + line
                            + "); at most " + MAX_ROWS + " per request: split the file");
                }
                row(line, cells, columns, ok, errors, seen);
            }
            if (columns == null) {
                throw new Refused("the CSV is empty; the first line must be a header like "
                        + "userId,programme,languageGroup,enrolledOn,leftOn,outcome");
            }
            return new Parsed(ok, errors, rows);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    private static IOException malformed(IOException e, int line) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof LineLimit.TooLong || t instanceof RequestBodies.TooLarge || t instanceof CharacterCodingException) {
                return (IOException) t; // a limit, the body limit or bad UTF-8: the caller answers
            }
        }
        // what is left are Commons CSV's own parse errors; the one RFC 4180 input can cause is an unclosed quote
        throw new Refused("the CSV ends inside a quoted field that starts on line " + line + ", or has text after a closing "
                + "quote; close the double quote (a quote inside a quoted field is written \"\")");
    }

    private static void row(int line, List<String> cells, Map<String, Integer> columns, List<Row> ok, List<RowError> errors,
                            Map<String, Integer> seen) {
        String userId = cell(cells, columns, "userId");
        if (cells.size() != columns.size()) {
            errors.add(new RowError(line, userId, null, "line has " + cells.size() + " fields, the header has " + columns.size()));
            return;
        }
        try {
            Participant p = Participant.of(userId, cell(cells, columns, "programme"), cell(cells, columns, "languageGroup"),
                    cell(cells, columns, "enrolledOn"), cell(cells, columns, "leftOn"), cell(cells, columns, "outcome"));
            Integer first = seen.putIfAbsent(p.userId(), line);
            if (first != null) {
                errors.add(new RowError(line, p.userId(), "userId", "userId " + p.userId() + " already appears on line " + first
                        + "; list each participant once"));
            } else {
                ok.add(new Row(line, p));
            }
        } catch (Participant.Invalid e) {
            errors.add(new RowError(line, userId, e.field(), e.getMessage()));
        }
    }

    private static Map<String, Integer> header(List<String> cells) {
        Map<String, String> known = new HashMap<>();
        for (String c : REQUIRED) {
            known.put(c.toLowerCase(Locale.ROOT), c);
        }
        for (String c : OPTIONAL) {
            known.put(c.toLowerCase(Locale.ROOT), c);
        }
        Map<String, Integer> columns = new LinkedHashMap<>();
        for (int i = 0; i < cells.size(); i++) {
            String name = cells.get(i).strip();
            if (i == 0 && name.startsWith("\uFEFF")) {
                name = name.substring(1); // a byte order mark, as spreadsheet programs write
            }
            String canonical = known.get(name.toLowerCase(Locale.ROOT));
            if (canonical == null) {
                throw new Refused("unknown column '" + InputRules.shown(name) + "' in the CSV header; columns are "
                        + REQUIRED + " (required) and " + OPTIONAL + " (optional)");
            }
            if (columns.putIfAbsent(canonical, i) != null) {
                throw new Refused("column " + canonical + " appears twice in the CSV header");
            }
        }
        for (String c : REQUIRED) {
            if (!columns.containsKey(c)) {
                throw new Refused("the CSV header lacks the required column " + c + " (header: " + columns.keySet() + ")");
            }
        }
        return columns;
    }

    private static String cell(List<String> cells, Map<String, Integer> columns, String name) {
        Integer i = columns.get(name);
        return i == null || i >= cells.size() ? null : cells.get(i);
    }

    /** A reader that fails once a physical line (between two line breaks) is longer than the limit. */
    static final class LineLimit extends Reader {
        static final class TooLong extends IOException {
            TooLong(long line, int limit) {
                super("line " + line + " is longer than " + limit + " characters");
            }
        }

        private final Reader in;
        private final int limit;
        private int sinceBreak;
        private long line = 1;

        LineLimit(Reader in, int limit) {
            this.in = in;
            this.limit = limit;
        }

        @Override
        public int read(char[] buf, int off, int len) throws IOException {
            int n = in.read(buf, off, len);
            for (int i = off; i < off + n; i++) {
                char c = buf[i];
                if (c == '\n' || c == '\r') {
                    if (c == '\n') {
                        line++;
                    }
                    sinceBreak = 0;
                } else if (++sinceBreak > limit) {
                    throw new TooLong(line, limit);
                }
            }
            return n;
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
