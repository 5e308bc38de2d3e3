package io.pgferry.agent.sql;

import java.util.Collection;
import java.util.stream.Collectors;

/**
 * Quoting for the few places where SQL must carry a name or a value as text (DDL takes no bind parameters).
 * Every identifier is always double-quoted, so case, spaces, reserved words and unicode survive unchanged.
 */
public final class Sql {
    private Sql() {
    }

    /** {@code My "Table"} becomes {@code "My ""Table"""}. */
    public static String ident(String name) {
        if (name == null || name.isEmpty() || name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("an identifier must be non-empty text without NUL");
        }
        return '"' + name.replace("\"", "\"\"") + '"';
    }

    public static String qualified(String schema, String name) {
        return ident(schema) + "." + ident(name);
    }

    public static String idents(Collection<String> names) {
        return names.stream().map(Sql::ident).collect(Collectors.joining(", "));
    }

    /**
     * A standard-conforming string literal. With standard_conforming_strings on (the default since 9.1 and
     * enforced on our connections) a backslash is an ordinary character; E'' syntax is never produced.
     */
    public static String literal(String value) {
        if (value.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("a string literal cannot hold NUL");
        }
        return '\'' + value.replace("'", "''") + '\'';
    }

    /**
     * A value inside a libpq connection string: single-quoted, with backslash and quote escaped, as libpq's
     * conninfo parser expects.
     */
    public static String conninfoValue(String value) {
        return '\'' + value.replace("\\", "\\\\").replace("'", "\\'") + '\'';
    }
}
