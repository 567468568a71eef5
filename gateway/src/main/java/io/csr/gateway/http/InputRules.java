package io.csr.gateway.http;

import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.regex.Pattern;

/**
 * The one rule every endpoint applies to identifiers, names and dates it accepts, so that what is stored is what was
 * sent and two distinct values are never stored as one.
 *
 * <p>Text: well-formed Unicode (no lone UTF-16 surrogate: PostgreSQL's driver would send it as {@code ?}, so two
 * different ids would become one), no C0/C1 control character (NUL cannot be stored in PostgreSQL text at all), no
 * noncharacter, and a length in code points (as PostgreSQL's {@code char_length} counts). Line breaks and tabs only
 * where a field allows them (descriptions).
 *
 * <p>Dates: {@code YYYY-MM-DD} from {@value #MIN_DATE_TEXT} to {@value #MAX_DATE_TEXT}, the days both stores hold:
 * ClickHouse's {@code Date} (18.16 and 24.x) starts at 1970-01-01 and ends in 2106 (the last whole year is 2105), and
 * PostgreSQL's {@code date} holds 4713 BC to 5874897 AD; outside the intersection ClickHouse fails the query and
 * PostgreSQL stores years that print as {@code 0002-01-01 BC}.
 */
public final class InputRules {
    public static final String MIN_DATE_TEXT = "1970-01-01";
    public static final String MAX_DATE_TEXT = "2105-12-31";
    public static final LocalDate MIN_DATE = LocalDate.parse(MIN_DATE_TEXT);
    public static final LocalDate MAX_DATE = LocalDate.parse(MAX_DATE_TEXT);
    private static final Pattern DATE = Pattern.compile("\\d{4}-\\d{2}-\\d{2}");

    private InputRules() {
    }

    /**
     * Why {@code s} is not acceptable text of {@code min}..{@code max} code points, or null when it is. Checks the
     * string as given (callers strip first where surrounding blanks are not part of the value).
     */
    public static String textProblem(String s, int min, int max, boolean lineBreaks) {
        if (s == null) {
            return "is missing";
        }
        int n = 0;
        for (int i = 0; i < s.length(); ) {
            char c = s.charAt(i);
            int cp;
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                cp = Character.toCodePoint(c, s.charAt(i + 1));
                i += 2;
            } else if (Character.isSurrogate(c)) {
                return "holds a lone UTF-16 surrogate (\\u" + Integer.toHexString(c).toUpperCase() + ") at character " + i
                        + "; send well-formed Unicode";
            } else {
                cp = c;
                i++;
            }
            if (Character.isISOControl(cp) && !(lineBreaks && (cp == '\n' || cp == '\t' || cp == '\r'))) {
                return "holds the control character U+" + String.format("%04X", cp) + " at character " + (i - 1)
                        + "; control characters are not accepted";
            }
            if ((cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE) {
                return "holds the noncharacter U+" + String.format("%04X", cp) + "; send text only";
            }
            n++;
        }
        if (n < min || n > max) {
            return "has " + n + " characters; " + min + " to " + max + " are accepted";
        }
        return null;
    }

    /** Whether {@code s} passes {@link #textProblem}. */
    public static boolean isText(String s, int min, int max, boolean lineBreaks) {
        return textProblem(s, min, max, lineBreaks) == null;
    }

    /**
     * A calendar date {@code YYYY-MM-DD} within {@link #MIN_DATE}..{@link #MAX_DATE}.
     *
     * @throws IllegalArgumentException saying what is wrong and the accepted form and range (without the field name)
     */
    public static LocalDate date(String raw) {
        if (raw == null || !DATE.matcher(raw).matches()) {
            throw new IllegalArgumentException("'" + shown(raw) + "' is not a date; use YYYY-MM-DD (UTC) from " + MIN_DATE_TEXT
                    + " to " + MAX_DATE_TEXT);
        }
        LocalDate d;
        try {
            d = LocalDate.parse(raw);
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("'" + raw + "' is not a calendar date; use YYYY-MM-DD (UTC) from " + MIN_DATE_TEXT
                    + " to " + MAX_DATE_TEXT);
        }
        if (d.isBefore(MIN_DATE) || d.isAfter(MAX_DATE)) {
            throw new IllegalArgumentException(raw + " is outside the dates that can be stored; use one from " + MIN_DATE_TEXT
                    + " to " + MAX_DATE_TEXT);
        }
        return d;
    }

    /** A value as shown in an error message: at most 64 characters, controls and lone surrogates escaped. */
    public static String shown(String value) {
        if (value == null) {
            return "";
        }
        String cut = value.length() > 64 ? value.substring(0, 64) : value;
        StringBuilder b = new StringBuilder(cut.length() + 8);
        for (int i = 0; i < cut.length(); i++) {
            char c = cut.charAt(i);
            boolean pairedHigh = Character.isHighSurrogate(c) && i + 1 < cut.length() && Character.isLowSurrogate(cut.charAt(i + 1));
            boolean pairedLow = Character.isLowSurrogate(c) && i > 0 && Character.isHighSurrogate(cut.charAt(i - 1));
            if (Character.isISOControl(c) || (Character.isSurrogate(c) && !pairedHigh && !pairedLow)) {
                b.append(String.format("\\u%04X", (int) c));
            } else {
                b.append(c);
            }
        }
        return value.length() > 64 ? b + "…(" + value.length() + " chars)" : b.toString();
    }
}
