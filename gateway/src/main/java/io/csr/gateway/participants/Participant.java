package io.csr.gateway.participants;

import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One company's participant: programme, optional language group, enrolment dates (UTC, {@code YYYY-MM-DD}) and, once
 * left, the outcome ({@code completed} or {@code dropped_out}). {@link #of} checks everything the table's constraints
 * check and names the field that is wrong, so the API answers 400 / a CSV row error instead of a database error.
 */
public record Participant(String userId, String programme, String languageGroup, LocalDate enrolledOn, LocalDate leftOn, String outcome) {
    static final Set<String> OUTCOMES = Set.of("completed", "dropped_out");
    private static final Pattern USER_ID = Pattern.compile("[^\\p{Cntrl}]{1,128}");
    private static final Pattern NAME = Pattern.compile("[^\\p{Cntrl}]{1,100}");

    /** A field that is missing or wrong, with the message saying what it must be. */
    public static final class Invalid extends IllegalArgumentException {
        private final String field;

        Invalid(String field, String message) {
            super(message);
            this.field = field;
        }

        public String field() {
            return field;
        }
    }

    /** Validates raw text values (blank = absent) and builds the participant. */
    public static Participant of(String userId, String programme, String languageGroup, String enrolledOn, String leftOn, String outcome) {
        String user = trimmed(userId);
        if (user == null || !USER_ID.matcher(user).matches()) {
            throw new Invalid("userId", "userId '" + abbreviate(userId) + "' must be 1-128 characters without control characters");
        }
        String prog = trimmed(programme);
        if (prog == null || !NAME.matcher(prog).matches()) {
            throw new Invalid("programme", "programme is required: 1-100 characters without control characters (got '" + abbreviate(programme) + "')");
        }
        String group = trimmed(languageGroup);
        if (group != null && !NAME.matcher(group).matches()) {
            throw new Invalid("languageGroup", "languageGroup '" + abbreviate(languageGroup) + "' must be 1-100 characters without control characters, or absent");
        }
        LocalDate enrolled = date("enrolledOn", enrolledOn);
        if (enrolled == null) {
            throw new Invalid("enrolledOn", "enrolledOn is required (UTC date YYYY-MM-DD)");
        }
        LocalDate left = date("leftOn", leftOn);
        String out = trimmed(outcome);
        if (left != null && left.isBefore(enrolled)) {
            throw new Invalid("leftOn", "leftOn " + left + " is before enrolledOn " + enrolled);
        }
        if (out != null && !OUTCOMES.contains(out)) {
            throw new Invalid("outcome", "outcome '" + abbreviate(outcome) + "' must be completed or dropped_out");
        }
        if (left != null && out == null) {
            throw new Invalid("outcome", "a participant who left (leftOn " + left + ") needs an outcome: completed or dropped_out");
        }
        if (left == null && out != null) {
            throw new Invalid("leftOn", "outcome " + out + " needs the date the participant left (leftOn YYYY-MM-DD)");
        }
        return new Participant(user, prog, group, enrolled, left, out);
    }

    private static LocalDate date(String field, String text) {
        String t = trimmed(text);
        if (t == null) {
            return null;
        }
        try {
            return LocalDate.parse(t);
        } catch (DateTimeParseException e) {
            throw new Invalid(field, field + " '" + abbreviate(t) + "' is not a date YYYY-MM-DD");
        }
    }

    private static String trimmed(String s) {
        if (s == null) {
            return null;
        }
        String t = s.strip();
        return t.isEmpty() ? null : t;
    }

    private static String abbreviate(String s) {
        return s == null ? "" : s.length() > 64 ? s.substring(0, 64) + "…" : s;
    }
}
