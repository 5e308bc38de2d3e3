package io.pgferry.agent.subscription;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads a libpq keyword/value connection string as PostgreSQL stores it in pg_subscription.subconninfo, so the
 * step can compare it with the wanted one. Follows libpq's rules: {@code key = value} pairs separated by
 * whitespace, values bare or single-quoted, a backslash escaping the next character.
 */
public final class Conninfo {
    private Conninfo() {
    }

    /** @throws IllegalArgumentException when the string is not a keyword/value conninfo (e.g. a URI) */
    public static Map<String, String> parse(String s) {
        Map<String, String> out = new LinkedHashMap<>();
        int i = 0;
        int n = s.length();
        while (true) {
            while (i < n && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            if (i >= n) {
                return out;
            }
            int keyStart = i;
            while (i < n && s.charAt(i) != '=' && !Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            String key = s.substring(keyStart, i);
            while (i < n && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            if (i >= n || s.charAt(i) != '=' || key.isEmpty()) {
                throw new IllegalArgumentException("not a keyword/value connection string");
            }
            i++;
            while (i < n && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            StringBuilder value = new StringBuilder();
            boolean quoted = i < n && s.charAt(i) == '\'';
            if (quoted) {
                i++;
            }
            while (i < n) {
                char ch = s.charAt(i);
                if (ch == '\\' && i + 1 < n) {
                    value.append(s.charAt(i + 1));
                    i += 2;
                    continue;
                }
                if (quoted ? ch == '\'' : Character.isWhitespace(ch)) {
                    break;
                }
                value.append(ch);
                i++;
            }
            if (quoted) {
                if (i >= n) {
                    throw new IllegalArgumentException("unterminated quoted value");
                }
                i++;
            }
            out.put(key, value.toString());
        }
    }
}
