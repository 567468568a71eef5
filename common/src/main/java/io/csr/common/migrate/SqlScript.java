package io.csr.common.migrate;

import java.util.ArrayList;
import java.util.List;

/** Splits a SQL script into statements on {@code ;}, ignoring semicolons inside quotes and comments. */
final class SqlScript {
    private SqlScript() {
    }

    static List<String> split(String script) {
        List<String> out = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        int n = script.length();
        for (int i = 0; i < n; i++) {
            char c = script.charAt(i);
            char next = i + 1 < n ? script.charAt(i + 1) : '\0';
            if (c == '-' && next == '-') {
                int end = script.indexOf('\n', i);
                i = end < 0 ? n : end;
                current.append('\n');
            } else if (c == '/' && next == '*') {
                int end = script.indexOf("*/", i + 2);
                if (end < 0) {
                    throw new MigrationException("unterminated /* comment */ in migration script");
                }
                i = end + 1;
                current.append(' ');
            } else if (c == '\'' || c == '"' || c == '`') {
                int j = i + 1;
                while (j < n) {
                    char d = script.charAt(j);
                    if (d == '\\') {
                        j += 2;
                        continue;
                    }
                    if (d == c) {
                        if (c == '\'' && j + 1 < n && script.charAt(j + 1) == '\'') {
                            j += 2; // '' escape (PostgreSQL)
                            continue;
                        }
                        break;
                    }
                    j++;
                }
                if (j >= n) {
                    throw new MigrationException("unterminated " + c + "quoted text in migration script");
                }
                current.append(script, i, j + 1);
                i = j;
            } else if (c == '$' && next == '$') {
                int end = script.indexOf("$$", i + 2);
                if (end < 0) {
                    throw new MigrationException("unterminated $$ block in migration script");
                }
                current.append(script, i, end + 2);
                i = end + 1;
            } else if (c == ';') {
                addIfNotBlank(out, current);
                current.setLength(0);
            } else {
                current.append(c);
            }
        }
        addIfNotBlank(out, current);
        return out;
    }

    private static void addIfNotBlank(List<String> out, StringBuilder sb) {
        String s = sb.toString().strip();
        if (!s.isEmpty()) {
            out.add(s);
        }
    }
}
