package io.csr.gateway.participants;

import io.csr.gateway.http.InputRules;

import java.time.LocalDate;
import java.util.Set;

/**
 * One company's participant: programme, optional language group, enrolment dates (UTC, {@code YYYY-MM-DD}) and, once
 * left, the outcome ({@code completed} or {@code dropped_out}). {@link #of} checks everything the table's constraints
 * check and names the field that is wrong, so the API answers 400 / a CSV row error instead of a database error.
 */
public record Participant(String userId, String programme, String languageGroup, LocalDate enrolledOn, LocalDate leftOn, String outcome) {
    static final Set<String> OUTCOMES = Set.of("completed", "dropped_out");
    static final int MAX_USER_ID = 128;
    static final int MAX_NAME = 100;

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
        String problem = InputRules.textProblem(user, 1, MAX_USER_ID, false);
        if (problem != null) {
            throw new Invalid("userId", "userId '" + abbreviate(userId) + "' " + problem + " (1-" + MAX_USER_ID
                    + " characters of well-formed text without control characters)");
        }
        String prog = trimmed(programme);
        problem = InputRules.textProblem(prog, 1, MAX_NAME, false);
        if (problem != null) {
            throw new Invalid("programme", "programme is required: 1-" + MAX_NAME + " characters without control characters (got '"
                    + abbreviate(programme) + "', which " + problem + ")");
        }
        String group = trimmed(languageGroup);
        problem = group == null ? null : InputRules.textProblem(group, 1, MAX_NAME, false);
        if (problem != null) {
            throw new Invalid("languageGroup", "languageGroup '" + abbreviate(languageGroup) + "' " + problem + " (1-" + MAX_NAME
                    + " characters without control characters, or absent)");
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
            return InputRules.date(t);
        } catch (IllegalArgumentException e) {
            throw new Invalid(field, field + ": " + e.getMessage());
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
        return InputRules.shown(s);
    }
}
