package io.csr.common.clickhouse;

import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Collection;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Renders values as ClickHouse SQL literals. The server we must support (18.16) has no query parameters, so every
 * value reaches SQL through here: identifiers are validated against a strict pattern (never escaped into validity),
 * strings are escaped for ClickHouse's single-quoted syntax, numbers must be finite.
 */
public final class SqlLiteral {
    private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,127}");
    private static final DateTimeFormatter DATE_TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneOffset.UTC);

    private SqlLiteral() {
    }

    /** A table, column or database name: letters, digits and underscores, not starting with a digit. */
    public static String identifier(String name) {
        if (name == null || !IDENTIFIER.matcher(name).matches()) {
            throw new IllegalArgumentException("'" + name + "' is not a valid ClickHouse identifier; use letters, digits and _ (max 128), not starting with a digit");
        }
        return name;
    }

    /** A quoted string literal; any Java string (quotes, backslashes, control characters, NUL, any Unicode) is safe. */
    public static String string(String value) {
        if (value == null) {
            throw new IllegalArgumentException("null cannot be rendered as a ClickHouse string literal");
        }
        StringBuilder out = new StringBuilder(value.length() + 2);
        out.append('\'');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '\\': out.append("\\\\"); break;
                case '\'': out.append("\\'"); break;
                case '\n': out.append("\\n"); break;
                case '\r': out.append("\\r"); break;
                case '\t': out.append("\\t"); break;
                case '\b': out.append("\\b"); break;
                case '\f': out.append("\\f"); break;
                case '\0': out.append("\\0"); break;
                default:
                    if (c < 0x20 || c == 0x7f) {
                        out.append(String.format("\\x%02X", (int) c));
                    } else {
                        out.append(c);
                    }
            }
        }
        return out.append('\'').toString();
    }

    public static String number(long value) {
        return Long.toString(value);
    }

    public static String number(double value) {
        if (!Double.isFinite(value)) {
            throw new IllegalArgumentException(value + " is not a finite number and cannot be a ClickHouse literal");
        }
        return Double.toString(value);
    }

    /** {@code toDate('YYYY-MM-DD')}. */
    public static String date(LocalDate date) {
        return "toDate('" + date + "')";
    }

    /** {@code toDateTime('YYYY-MM-DD hh:mm:ss', 'UTC')}, second precision. */
    public static String dateTime(Instant instant) {
        return "toDateTime('" + DATE_TIME.format(instant) + "', 'UTC')";
    }

    /** {@code (a, b, c)} of string literals, for {@code IN}; an empty collection is an error, not {@code ()}. */
    public static String stringList(Collection<String> values) {
        if (values.isEmpty()) {
            throw new IllegalArgumentException("an IN list needs at least one value");
        }
        return values.stream().map(SqlLiteral::string).collect(Collectors.joining(", ", "(", ")"));
    }

    /** {@code (1, 2, 3)} for {@code IN}. */
    public static String numberList(Collection<? extends Number> values) {
        if (values.isEmpty()) {
            throw new IllegalArgumentException("an IN list needs at least one value");
        }
        return values.stream().map(n -> number(n.longValue())).collect(Collectors.joining(", ", "(", ")"));
    }

    /** The text form ClickHouse's DateTime accepts in JSONEachRow input, UTC. */
    public static String dateTimeText(Instant instant) {
        return DATE_TIME.format(instant);
    }
}
