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
                   EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
              AND n.nspname = ANY (?)
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                              AND d.objid = c.oid AND d.deptype = 'e')
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
        return new ResolvedScope(List.copyOf(schemas), List.copyOf(tables), List.copyOf(excluded));
    }

    private static <T> List<T> concat(List<T> a, List<T> b) {
        List<T> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
