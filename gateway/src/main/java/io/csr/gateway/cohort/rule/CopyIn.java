package io.csr.gateway.cohort.rule;

import org.postgresql.PGConnection;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

/**
 * {@code COPY … FROM STDIN} of one text column through pgjdbc's CopyManager, on the caller's connection and
 * transaction. Values go in COPY's text format, escaped ({@code \\}, newline, carriage return, tab), so any string
 * arrives as it was; {@code \N} (NULL) is never produced.
 */
final class CopyIn {
    private static final int BUFFER = 64 * 1024;

    private CopyIn() {
    }

    /** Streams {@code values}, one row each, into {@code copySql}; returns the rows PostgreSQL counted. */
    static long text(Connection c, String copySql, List<String> values) throws SQLException {
        org.postgresql.copy.CopyIn in = c.unwrap(PGConnection.class).getCopyAPI().copyIn(copySql);
        try {
            byte[] buf = new byte[BUFFER];
            int n = 0;
            StringBuilder row = new StringBuilder(160);
            for (String v : values) {
                row.setLength(0);
                escape(v, row);
                row.append('\n');
                byte[] b = row.toString().getBytes(StandardCharsets.UTF_8);
                if (n + b.length > buf.length) {
                    in.writeToCopy(buf, 0, n);
                    n = 0;
                }
                if (b.length > buf.length) {
                    in.writeToCopy(b, 0, b.length);
                } else {
                    System.arraycopy(b, 0, buf, n, b.length);
                    n += b.length;
                }
            }
            if (n > 0) {
                in.writeToCopy(buf, 0, n);
            }
            return in.endCopy();
        } finally {
            if (in.isActive()) {
                in.cancelCopy();
            }
        }
    }

    /** COPY text format: backslash, newline, carriage return and tab (the delimiter) are written as escapes. */
    static void escape(String v, StringBuilder out) {
        for (int i = 0; i < v.length(); i++) {
            char ch = v.charAt(i);
            switch (ch) {
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> out.append(ch);
            }
        }
    }
}
