package io.csr.gateway.cohort.rule;

import java.time.LocalDate;
import java.util.List;

/**
 * A validated rule of Contract 4 (DESIGN.md; docs/analytics.md "Rule cohorts"): who belongs to a rule cohort. Built only
 * by {@link RuleParser}, so every value here is already within the documented bounds.
 */
public sealed interface Rule {

    /** Every rule holds. */
    record All(List<Rule> rules) implements Rule {
    }

    /** At least one rule holds. */
    record Any(List<Rule> rules) implements Rule {
    }

    /** The rule does not hold. */
    record Not(Rule rule) implements Rule {
    }

    /** A text attribute of the participant is one of {@code values}; a null value matches a null attribute. */
    record AttrIn(Attribute attr, List<String> values) implements Rule {
    }

    /** A date attribute lies in {@code [from, to]} (either end may be null: open); a null attribute never matches. */
    record AttrDates(Attribute attr, LocalDate from, LocalDate to) implements Rule {
    }

    /** A journey flag is set now ({@code ever} false) or was set at some time ({@code ever} true). */
    record Flag(String flag, boolean ever) implements Rule {
    }

    /** The aggregate of the user's observations of {@code metric} over the last {@code days} days compared with a value. */
    record Behaviour(String metric, Aggregate agg, int days, Comparison op, double value) implements Rule {
    }

    /** At least one valid event of the user in the last {@code days} days. */
    record Active(int days) implements Rule {
    }

    /** Participant attributes and their {@code participants} column. */
    enum Attribute {
        PROGRAMME("programme", "programme", false), LANGUAGE_GROUP("languageGroup", "language_group", false),
        OUTCOME("outcome", "outcome", false), ENROLLED_ON("enrolledOn", "enrolled_on", true), LEFT_ON("leftOn", "left_on", true);

        public final String wireName;
        public final String column;
        public final boolean date;

        Attribute(String wireName, String column, boolean date) {
            this.wireName = wireName;
            this.column = column;
            this.date = date;
        }
    }

    enum Aggregate {
        AVG("avg"), MIN("min"), MAX("max"), COUNT("count");

        public final String wireName;

        Aggregate(String wireName) {
            this.wireName = wireName;
        }
    }

    enum Comparison {
        GE(">="), GT(">"), LE("<="), LT("<"), EQ("=");

        public final String symbol;

        Comparison(String symbol) {
            this.symbol = symbol;
        }

        public boolean test(double a, double b) {
            return switch (this) {
                case GE -> a >= b;
                case GT -> a > b;
                case LE -> a <= b;
                case LT -> a < b;
                case EQ -> a == b;
            };
        }
    }

    /** Whether any leaf of the rule is a participant attribute (then members are participants only). */
    static boolean usesAttributes(Rule r) {
        return switch (r) {
            case All a -> a.rules().stream().anyMatch(Rule::usesAttributes);
            case Any a -> a.rules().stream().anyMatch(Rule::usesAttributes);
            case Not n -> usesAttributes(n.rule());
            case AttrIn a -> true;
            case AttrDates a -> true;
            default -> false;
        };
    }
}
