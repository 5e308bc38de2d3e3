package io.pgferry.agent.migration;

import io.pgferry.agent.sql.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A table with REPLICA IDENTITY FULL is found on the subscriber by comparing every column with its type's default
 * equality operator (the type cache's: a default btree, else hash, operator class). A column whose type has none
 * (json, xml, point, box, ...; an array, domain or composite of one) makes the apply worker fail with "could not
 * identify an equality operator for type" at the first UPDATE or DELETE: the stream stops for good.
 */
public final class FullRowEquality {
    private static final String COLUMNS = """
            SELECT n.nspname, c.relname, a.attname, a.atttypid
            FROM unnest(?::text[], ?::text[]) AS r(nsp, rel)
            JOIN pg_namespace n ON n.nspname = r.nsp JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = r.rel
            JOIN pg_attribute a ON a.attrelid = c.oid
            WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
            ORDER BY 1, 2, a.attnum""";
    // A type binary-coercible to another implicitly shares its operator class (varchar uses text's), as the type cache
    // finds it.
    private static final String TYPE = """
            SELECT t.typtype, t.typbasetype, t.typelem, t.typrelid,
                   t.typsubscript = 'pg_catalog.array_subscript_handler'::regproc,
                   EXISTS (SELECT 1 FROM pg_opclass oc JOIN pg_am am ON am.oid = oc.opcmethod
                           WHERE oc.opcdefault AND am.amname IN ('btree', 'hash')
                             AND (oc.opcintype = t.oid OR EXISTS (SELECT 1 FROM pg_cast k WHERE k.castsource = t.oid
                                  AND k.casttarget = oc.opcintype AND k.castmethod = 'b' AND k.castcontext = 'i')))
            FROM pg_type t WHERE t.oid = ?""";
    private static final String ATTRIBUTES = """
            SELECT atttypid FROM pg_attribute WHERE attrelid = ? AND attnum > 0 AND NOT attisdropped""";

    private final Connection c;
    private final Map<Long, Boolean> known = new HashMap<>();

    public FullRowEquality(Connection c) {
        this.c = c;
    }

    /** The columns of these tables a full-row comparison cannot compare: {@code "schema"."table"."column" (type)}. */
    public List<String> uncomparable(Collection<TableRef> tables) throws SQLException {
        List<String> out = new ArrayList<>();
        if (tables.isEmpty()) {
            return out;
        }
        try (PreparedStatement st = c.prepareStatement(COLUMNS)) {
            st.setArray(1, c.createArrayOf("text", tables.stream().map(TableRef::schema).toArray()));
            st.setArray(2, c.createArrayOf("text", tables.stream().map(TableRef::name).toArray()));
            try (ResultSet rs = st.executeQuery()) {
                List<Object[]> columns = new ArrayList<>();
                while (rs.next()) {
                    columns.add(new Object[] {rs.getString(1), rs.getString(2), rs.getString(3), rs.getLong(4)});
                }
                for (Object[] col : columns) {
                    long type = (Long) col[3];
                    if (!comparable(type, 0)) {
                        out.add(Sql.qualified((String) col[0], (String) col[1]) + "." + Sql.ident((String) col[2])
                                + " (" + typeName(type) + ")");
                    }
                }
            }
        }
        return out;
    }

    private boolean comparable(long type, int depth) throws SQLException {
        Boolean k = known.get(type);
        if (k != null) {
            return k;
        }
        if (depth > 32) {
            return true;  // a cycle is impossible in PostgreSQL's types; never loop on a surprise
        }
        boolean result;
        try (PreparedStatement st = c.prepareStatement(TYPE)) {
            st.setLong(1, type);
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) {
                    return true;
                }
                char kind = rs.getString(1).charAt(0);
                long base = rs.getLong(2);
                long element = rs.getLong(3);
                long relation = rs.getLong(4);
                boolean array = rs.getBoolean(5);
                boolean direct = rs.getBoolean(6);
                result = switch (kind) {
                    case 'd' -> comparable(base, depth + 1);
                    case 'c' -> allAttributes(relation, depth);
                    case 'e', 'r', 'm' -> true;  // enum, range, multirange: polymorphic operator classes
                    default -> array && element != 0 ? comparable(element, depth + 1) : direct;
                };
            }
        }
        known.put(type, result);
        return result;
    }

    private boolean allAttributes(long relation, int depth) throws SQLException {
        List<Long> types = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement(ATTRIBUTES)) {
            st.setLong(1, relation);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    types.add(rs.getLong(1));
                }
            }
        }
        for (long t : types) {
            if (!comparable(t, depth + 1)) {
                return false;
            }
        }
        return true;
    }

    private String typeName(long type) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("SELECT format_type(?::oid, NULL)")) {
            st.setLong(1, type);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        }
    }
}
