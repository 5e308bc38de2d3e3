package io.pgferry.agent.migration;

import io.pgferry.agent.problem.ApiException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/** Reads a {@link Scope} against the source's catalogs; names that do not exist are refused, all at once. */
public final class ScopeResolver {
    /** User schemas: not the system ones, not temporary or toast schemas, not one owned by an extension. */
    private static final String SCHEMAS = """
            SELECT n.nspname FROM pg_namespace n
            WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass
                              AND d.objid = n.oid AND d.deptype = 'e')
            ORDER BY 1""";
    /** Tables that replicate as units: ordinary tables that are not partitions, and partitioned roots. */
    private static final String TABLES = """
            SELECT n.nspname, c.relname, c.relkind, c.relreplident, c.relpersistence = 'u',
                   EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p'
                                  AND NOT k.condeferrable)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
              AND n.nspname = ANY (?)
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                              AND d.objid = c.oid AND d.deptype = 'e')
            ORDER BY 1, 2""";
    /**
     * Partitions and inheritance children, at any depth, of the given tables: their rows are part of what a query on
     * the parent reads, and a publication without ONLY publishes them too.
     */
    private static final String DESCENDANTS = """
            WITH RECURSIVE d(oid, parent) AS (
                SELECT i.inhrelid, i.inhparent FROM pg_inherits i
                WHERE i.inhparent = ANY (SELECT format('%I.%I', s, t)::regclass
                                         FROM unnest(?::text[], ?::text[]) AS u(s, t))
                UNION
                SELECT i.inhrelid, d.parent FROM pg_inherits i JOIN d ON i.inhparent = d.oid)
            SELECT n.nspname, c.relname, c.relispartition, pn.nspname, p.relname
            FROM d JOIN pg_class c ON c.oid = d.oid JOIN pg_namespace n ON n.oid = c.relnamespace
                   JOIN pg_class p ON p.oid = d.parent JOIN pg_namespace pn ON pn.oid = p.relnamespace
            WHERE c.relkind IN ('r', 'p', 'f')
            ORDER BY 1, 2""";

    private ScopeResolver() {
    }

    public static ResolvedScope resolve(Connection c, Scope scope) throws SQLException {
        List<String> all = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement(SCHEMAS); ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                all.add(rs.getString(1));
            }
        }
        Set<String> unknown = new TreeSet<>();
        Set<String> known = new HashSet<>(all);
        for (String s : concat(scope.includeSchemas(), scope.excludeSchemas())) {
            if (!known.contains(s)) {
                unknown.add("schema " + s);
            }
        }
        Set<String> schemas = new LinkedHashSet<>(scope.includeSchemas().isEmpty() ? all : scope.includeSchemas());
        schemas.removeAll(scope.excludeSchemas());

        List<ScopedTable> tables = new ArrayList<>();
        Set<TableRef> present = new HashSet<>();
        try (PreparedStatement st = c.prepareStatement(TABLES)) {
            st.setArray(1, c.createArrayOf("text", schemas.toArray()));
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    TableRef t = new TableRef(rs.getString(1), rs.getString(2));
                    present.add(t);
                    tables.add(new ScopedTable(t, rs.getString(3).charAt(0), rs.getBoolean(6),
                            rs.getString(4).charAt(0), rs.getBoolean(5)));
                }
            }
        }
        Set<String> excludedSchemas = new HashSet<>(scope.excludeSchemas());
        for (TableRef t : concat(scope.includeTables(), scope.excludeTables())) {
            if (!present.contains(t) && !excludedSchemas.contains(t.schema())) {
                unknown.add("table " + t.quoted());
            }
        }
        if (!unknown.isEmpty()) {
            throw ApiException.unprocessable("unknown_objects", "these schemas or tables do not exist in the "
                    + "source database (or are not ordinary or partitioned root tables): " + String.join(", ",
                    unknown) + "; correct the names (they are case-sensitive) or remove them", List.copyOf(unknown));
        }
        List<TableRef> excluded = new ArrayList<>();
        Set<TableRef> exclude = new HashSet<>(scope.excludeTables());
        Set<TableRef> include = new HashSet<>(scope.includeTables());
        tables.removeIf(t -> {
            boolean out = exclude.contains(t.table()) || (!include.isEmpty() && !include.contains(t.table()));
            if (out) {
                excluded.add(t.table());
            }
            return out;
        });
        refuseSplitTables(c, schemas, tables);
        return new ResolvedScope(List.copyOf(schemas), List.copyOf(tables), List.copyOf(excluded));
    }

    /**
     * A table in scope whose partition or child is not would move without those rows: pg_dump leaves the partition
     * out (the target's table has no place for its rows) and the child out (a query on the parent reads fewer rows
     * on the target than on the source). Refused, with nothing changed, rather than moved short.
     */
    private static void refuseSplitTables(Connection c, Set<String> schemas, List<ScopedTable> tables)
            throws SQLException {
        if (tables.isEmpty()) {
            return;
        }
        Set<TableRef> inScope = new HashSet<>();
        for (ScopedTable t : tables) {
            inScope.add(t.table());
        }
        List<String> outside = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement(DESCENDANTS)) {
            st.setArray(1, c.createArrayOf("text", tables.stream().map(t -> t.table().schema()).toArray()));
            st.setArray(2, c.createArrayOf("text", tables.stream().map(t -> t.table().name()).toArray()));
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    TableRef d = new TableRef(rs.getString(1), rs.getString(2));
                    boolean partition = rs.getBoolean(3);
                    boolean moves = schemas.contains(d.schema()) && (partition || inScope.contains(d));
                    if (!moves) {
                        outside.add(d.quoted() + " (" + (partition ? "partition" : "inheritance child") + " of "
                                + new TableRef(rs.getString(4), rs.getString(5)).quoted() + ")");
                    }
                }
            }
        }
        if (!outside.isEmpty()) {
            throw ApiException.unprocessable("scope_splits_tables", "tables in scope have partitions or inheritance "
                    + "children outside the scope: " + String.join(", ", outside) + "; their rows belong to the "
                    + "table in scope, which would move without them. Include their schemas (or tables) in the "
                    + "scope, or leave the parent table out too", List.copyOf(outside));
        }
    }

    private static <T> List<T> concat(List<T> a, List<T> b) {
        List<T> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
