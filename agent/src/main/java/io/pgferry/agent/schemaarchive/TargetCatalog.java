package io.pgferry.agent.schemaarchive;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Whether the target already has the object of a manifest entry, found by its exact identity (schema, table,
 * name) in the target's catalogs. Each kind of object is read once, all of it in one query, the first time it is
 * asked about: a schema of thousands of tables is thousands of entries, and one query each would be as many round
 * trips. Names are compared as they are; nothing is looked up by pattern.
 */
public final class TargetCatalog {
    /** Objects of a table, identified by (schema, table, name). */
    private static final Map<String, String> OF_TABLE = Map.of(
            "table constraint", """
                    SELECT n.nspname, t.relname, x.conname FROM pg_catalog.pg_constraint x
                    JOIN pg_catalog.pg_class t ON t.oid = x.conrelid
                    JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace""",
            "trigger", """
                    SELECT n.nspname, t.relname, x.tgname FROM pg_catalog.pg_trigger x
                    JOIN pg_catalog.pg_class t ON t.oid = x.tgrelid
                    JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace WHERE NOT x.tgisinternal""",
            "rule", """
                    SELECT n.nspname, t.relname, x.rulename FROM pg_catalog.pg_rewrite x
                    JOIN pg_catalog.pg_class t ON t.oid = x.ev_class
                    JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace""",
            "policy", """
                    SELECT n.nspname, t.relname, x.polname FROM pg_catalog.pg_policy x
                    JOIN pg_catalog.pg_class t ON t.oid = x.polrelid
                    JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace""");
    private static final String RELATIONS_OF = """
            SELECT n.nspname, t.relname FROM pg_catalog.pg_class t
            JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace""";
    /** Everything else: by (name) for schemas and extensions, by (schema, name) for the rest. */
    private static final Map<String, String> BY_NAME = Map.of(
            "schema", "SELECT nspname FROM pg_catalog.pg_namespace",
            "extension", "SELECT extname FROM pg_catalog.pg_extension",
            "row security", RELATIONS_OF + " WHERE t.relrowsecurity",
            // An attached partition (or partition index) is one with relispartition set.
            "index attach", RELATIONS_OF + " WHERE t.relispartition",
            "table attach", RELATIONS_OF + " WHERE t.relispartition",
            "statistics object", """
                    SELECT n.nspname, s.stxname FROM pg_catalog.pg_statistic_ext s
                    JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace""");
    private static final String RELATION = "relation";
    private static final String POPULATED = "populated";
    private static final Map<String, String> OTHER = Map.of(
            RELATION, RELATIONS_OF,
            POPULATED, RELATIONS_OF + " WHERE t.relispopulated");
    private static final Set<String> RELATIONS = Set.of("table", "index", "view", "materialized view", "sequence",
            "foreign table");

    private final Connection c;
    /** Kind to the identities present, read on first use. */
    private final Map<String, Set<List<String>>> present = new HashMap<>();

    public TargetCatalog(Connection c) {
        this.c = c;
    }

    /** Whether this entry's kind can be checked at all; others are neither restored nor counted present. */
    public static boolean checkable(TocEntry e) {
        return e.type() != null && e.name() != null && (OF_TABLE.containsKey(e.type())
                || RELATIONS.contains(e.type()) || BY_NAME.containsKey(e.type()));
    }

    public boolean exists(TocEntry e) throws SQLException {
        if (!checkable(e)) {
            return false;
        }
        if (OF_TABLE.containsKey(e.type())) {
            return read(e.type(), OF_TABLE.get(e.type())).contains(List.of(e.schema(), e.table(), e.name()));
        }
        String kind = RELATIONS.contains(e.type()) ? RELATION : e.type();
        String sql = RELATIONS.contains(e.type()) ? OTHER.get(RELATION) : BY_NAME.get(e.type());
        return read(kind, sql).contains(e.schema() == null ? List.of(e.name()) : List.of(e.schema(), e.name()));
    }

    /** For a materialized view: whether it holds data (a schema-only restore creates it WITH NO DATA). */
    public boolean populated(TocEntry e) throws SQLException {
        return read(POPULATED, OTHER.get(POPULATED)).contains(List.of(e.schema(), e.name()));
    }

    public Set<String> installedExtensions() throws SQLException {
        return strings("SELECT extname FROM pg_catalog.pg_extension");
    }

    public Set<String> schemas() throws SQLException {
        return strings("SELECT nspname FROM pg_catalog.pg_namespace");
    }

    public Set<String> availableExtensions() throws SQLException {
        return strings("SELECT name FROM pg_catalog.pg_available_extensions");
    }

    private Set<String> strings(String sql) throws SQLException {
        Set<String> out = new HashSet<>();
        try (PreparedStatement ps = c.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    private Set<List<String>> read(String kind, String sql) throws SQLException {
        Set<List<String>> known = present.get(kind);
        if (known != null) {
            return known;
        }
        Set<List<String>> out = new HashSet<>();
        try (PreparedStatement ps = c.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
            int n = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                String[] row = new String[n];
                for (int i = 0; i < n; i++) {
                    row[i] = rs.getString(i + 1);
                }
                out.add(List.of(row));
            }
        }
        present.put(kind, out);
        return out;
    }
}
