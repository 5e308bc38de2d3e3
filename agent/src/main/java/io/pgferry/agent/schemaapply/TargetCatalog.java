package io.pgferry.agent.schemaapply;

import io.pgferry.agent.schemaarchive.TocEntry;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Whether the target already has the object of a manifest entry, found by its exact identity (schema, table,
 * name) in the target's catalogs. Names are bind parameters; nothing is looked up by pattern.
 */
public final class TargetCatalog {
    private static final String TABLE = """
              FROM pg_catalog.pg_class t JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
             WHERE n.nspname = ? AND t.relname = ?
            """;
    /** Objects of a table, asked with (schema, table, name). */
    private static final Map<String, String> OF_TABLE = Map.of(
            "table constraint", "SELECT EXISTS (SELECT 1 " + TABLE + """
                     AND EXISTS (SELECT 1 FROM pg_catalog.pg_constraint x
                                 WHERE x.conrelid = t.oid AND x.conname = ?))""",
            "trigger", "SELECT EXISTS (SELECT 1 " + TABLE + """
                     AND EXISTS (SELECT 1 FROM pg_catalog.pg_trigger x
                                 WHERE x.tgrelid = t.oid AND x.tgname = ? AND NOT x.tgisinternal))""",
            "rule", "SELECT EXISTS (SELECT 1 " + TABLE + """
                     AND EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite x
                                 WHERE x.ev_class = t.oid AND x.rulename = ?))""",
            "policy", "SELECT EXISTS (SELECT 1 " + TABLE + """
                     AND EXISTS (SELECT 1 FROM pg_catalog.pg_policy x
                                 WHERE x.polrelid = t.oid AND x.polname = ?))""");
    /** Everything else, asked with (name) when the entry has no schema, else (schema, name). */
    private static final Map<String, String> BY_NAME = Map.of(
            "schema", "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = ?)",
            "extension", "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = ?)",
            "row security", "SELECT coalesce((SELECT t.relrowsecurity " + TABLE + "), false)",
            // An attached partition (or partition index) is one with relispartition set.
            "index attach", "SELECT coalesce((SELECT t.relispartition " + TABLE + "), false)",
            "table attach", "SELECT coalesce((SELECT t.relispartition " + TABLE + "), false)",
            "statistics object", """
                    SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_statistic_ext s
                                   JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace
                                   WHERE n.nspname = ? AND s.stxname = ?)""");
    private static final Set<String> RELATIONS = Set.of("table", "index", "view", "materialized view", "sequence",
            "foreign table");

    private final Connection c;

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
            return ask(OF_TABLE.get(e.type()), e.schema(), e.table(), e.name());
        }
        String sql = RELATIONS.contains(e.type()) ? "SELECT EXISTS (SELECT 1 " + TABLE + ")" : BY_NAME.get(e.type());
        return e.schema() == null ? ask(sql, e.name()) : ask(sql, e.schema(), e.name());
    }

    /** For a materialized view: whether it holds data (a schema-only restore creates it WITH NO DATA). */
    public boolean populated(TocEntry e) throws SQLException {
        return ask("SELECT coalesce((SELECT t.relispopulated " + TABLE + "), false)", e.schema(), e.name());
    }

    public Set<String> installedExtensions() throws SQLException {
        return strings("SELECT extname FROM pg_catalog.pg_extension");
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

    private boolean ask(String sql, String... params) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                ps.setString(i + 1, params[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }
}
