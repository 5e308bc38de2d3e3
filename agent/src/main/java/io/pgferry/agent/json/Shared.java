package io.pgferry.agent.json;

import java.util.List;

/**
 * One copy of a string that recurs across many records: the manifest and the privilege set of a database with
 * thousands of tables hold hundreds of thousands of role, schema, table and kind names, nearly all repeats (20,000
 * tables: about 90 MiB of heap, mostly duplicate strings, before this). Interned strings are freed with their last
 * user, so nothing accumulates across migrations.
 */
public final class Shared {
    private Shared() {
    }

    public static String of(String s) {
        return s == null ? null : s.intern();
    }

    /** An unmodifiable copy with every element shared (List.copyOf's rules: no null element); null stays null. */
    public static List<String> all(List<String> strings) {
        return strings == null ? null : List.copyOf(strings.stream().map(Shared::of).toList());
    }
}
