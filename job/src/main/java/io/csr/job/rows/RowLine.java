package io.csr.job.rows;

import com.fasterxml.jackson.core.io.JsonStringEncoder;

import java.math.BigDecimal;
import java.util.function.IntToLongFunction;

/**
 * One JSONEachRow line being written, field by field, straight into text: the same JSON Jackson's ObjectMapper writes
 * for an ObjectNode of these values (strings escaped by Jackson's own encoder, longs as Long.toString, non-finite
 * doubles quoted, null as null), without building the tree first. Every event renders one or two rows, and the trees
 * were a tenth of the job's CPU.
 *
 * <p>Doubles are the one difference: never in exponent notation (see {@link #put(String, double)}).
 */
public final class RowLine {
    private static final JsonStringEncoder ESCAPE = JsonStringEncoder.getInstance();

    private final StringBuilder json = new StringBuilder(256).append('{');

    RowLine() {
    }

    public RowLine put(String field, String value) {
        name(field);
        if (value == null) {
            json.append("null");
        } else {
            json.append('"');
            ESCAPE.quoteAsString(value, json);
            json.append('"');
        }
        return this;
    }

    public RowLine put(String field, long value) {
        name(field);
        json.append(value);
        return this;
    }

    public RowLine put(String field, int value) {
        return put(field, (long) value);
    }

    /** An Array(Int32) column. */
    public RowLine put(String field, int[] values) {
        return array(field, values.length, i -> values[i]);
    }

    /** An Array(UInt64) column. */
    public RowLine put(String field, long[] values) {
        return array(field, values.length, i -> values[i]);
    }

    private RowLine array(String field, int length, IntToLongFunction element) {
        name(field);
        json.append('[');
        for (int i = 0; i < length; i++) {
            json.append(i == 0 ? "" : ",").append(element.applyAsLong(i));
        }
        json.append(']');
        return this;
    }

    /**
     * A double as ClickHouse reads it back bit for bit: a whole number as its digits, anything else as the shortest
     * decimal that identifies it (Double.toString's digits) but in plain notation. ClickHouse's JSONEachRow float
     * parser (the "fast" one, 18.16 and later) reads an exponent by multiplying by a power of ten, which lands one ulp
     * off for about one number in eight: Double.toString(11649895.0) is "1.1649895E7", stored as 11649894.999999998
     * — the drifting hour sum of issue 27 (every sum from 10^7 on is written with an exponent). Digits without an
     * exponent are read as an integer, exactly; a fraction is read as integer · 10^-k, which is exact for all but a
     * few in ten thousand (measured on 18.16: 1 of 20,000 random doubles, 2,168 with exponents).
     */
    public RowLine put(String field, double value) {
        name(field);
        if (!Double.isFinite(value)) {
            json.append('"').append(value).append('"'); // Jackson's QUOTE_NON_NUMERIC_NUMBERS
        } else if (value != 0 && value == Math.rint(value) && Math.abs(value) < WHOLE_AS_DIGITS) {
            json.append((long) value);
        } else {
            String text = Double.toString(value);
            json.append(text.indexOf('E') < 0 ? text : new BigDecimal(text).toPlainString());
        }
        return this;
    }

    /** Whole numbers below this (19 digits at most) are written as digits: ClickHouse reads them as a UInt64, exactly. */
    private static final double WHOLE_AS_DIGITS = 1e18;

    private void name(String field) {
        if (json.length() > 1) {
            json.append(',');
        }
        json.append('"');
        ESCAPE.quoteAsString(field, json);
        json.append("\":");
    }

    /** The line: one JSON object, no newline. Ends the line: call once. */
    String toJson() {
        return json.append('}').toString();
    }
}
