package io.csr.job.validate;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDate;

/**
 * {@link Instant#parse} to epoch millis, with a fast path for the form producers send almost always,
 * {@code yyyy-MM-ddTHH:mm:ss[.f…]Z} (1 to 9 fraction digits): java.time's general-purpose parser was the source
 * task's largest single cost in the job's profile. The fast path only answers for strings it fully understands and
 * whose fields are in range; everything else (offsets, lower-case letters, a leap second, an invalid date…) goes to
 * {@code Instant.parse}, so results and errors are exactly Instant.parse's, truncated to the millisecond as
 * {@link Instant#toEpochMilli} does for instants at or after 1970.
 */
public final class IsoInstant {
    private IsoInstant() {
    }

    /** Epoch millis of {@code text}; throws {@link java.time.format.DateTimeParseException} as Instant.parse does. */
    public static long parseMillis(String text) {
        long fast = fastMillis(text);
        return fast >= 0 ? fast : Instant.parse(text).toEpochMilli();
    }

    /** The fast path: epoch millis, or -1 when the string is not in the common form (or before 1970). */
    static long fastMillis(String s) {
        int n = s.length();
        if (n < 20 || n > 30 || s.charAt(4) != '-' || s.charAt(7) != '-' || s.charAt(10) != 'T' || s.charAt(13) != ':'
                || s.charAt(16) != ':' || s.charAt(n - 1) != 'Z') {
            return -1;
        }
        int year = digits(s, 0, 4);
        int month = digits(s, 5, 2);
        int day = digits(s, 8, 2);
        int hour = digits(s, 11, 2);
        int minute = digits(s, 14, 2);
        int second = digits(s, 17, 2);
        if (year < 1970 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) {
            return -1; // the date itself is checked by LocalDate.of below
        }
        int millis = 0;
        if (n > 20) { // ".f…Z": 1 to 9 digits
            int fractionDigits = n - 21;
            if (s.charAt(19) != '.' || fractionDigits < 1 || fractionDigits > 9 || digits(s, 20, fractionDigits) < 0) {
                return -1;
            }
            millis = digits(s, 20, Math.min(3, fractionDigits));
            for (int i = fractionDigits; i < 3; i++) {
                millis *= 10;
            }
        }
        long epochDay;
        try {
            epochDay = LocalDate.of(year, month, day).toEpochDay();
        } catch (DateTimeException e) {
            return -1;
        }
        return (epochDay * 86_400L + hour * 3_600L + minute * 60L + second) * 1_000L + millis;
    }

    /** The decimal value of {@code count} ASCII digits at {@code from}, or -1 if any is not a digit. */
    private static int digits(String s, int from, int count) {
        int v = 0;
        for (int i = from; i < from + count; i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            v = v * 10 + (c - '0');
        }
        return v;
    }
}
