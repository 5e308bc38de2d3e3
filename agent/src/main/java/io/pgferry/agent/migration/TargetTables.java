package io.pgferry.agent.migration;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The target side of the tables in scope, read and emptied in a few statements however many tables there are.
 */
public final class TargetTables {
    /** Tables per statement: keeps each statement's text and its locks small. */
    private static final int CHUNK = 500;
    /** A table (or one of its partitions here) whose files hold something: it may hold rows. */
    private static final String WRITTEN = """
            SELECT r.ord FROM unnest(?::text[], ?::text[]) WITH ORDINALITY AS r(nsp, rel, ord)
            JOIN pg_namespace n ON n.nspname = r.nsp JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = r.rel
            WHERE pg_relation_size(c.oid) > 0
               OR (c.relkind = 'p' AND EXISTS (SELECT 1 FROM pg_partition_tree(c.oid) t
                                               WHERE pg_relation_size(t.relid) > 0))
            ORDER BY 1""";

    private TargetTables() {
    }

    /** Tables whose files are not empty: every table that holds rows, and some that held them once. */
    public static List<TableRef> written(Connection c, List<TableRef> tables) throws SQLException {
        List<TableRef> out = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement(WRITTEN)) {
            st.setArray(1, c.createArrayOf("text", tables.stream().map(TableRef::schema).toArray()));
            st.setArray(2, c.createArrayOf("text", tables.stream().map(TableRef::name).toArray()));
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.add(tables.get(rs.getInt(1) - 1));
                }
            }
        }
        return out;
    }

    /** The tables that hold at least one row, asked a chunk of tables per statement. */
    public static List<TableRef> withRows(Connection c, List<TableRef> tables) throws SQLException {
        List<TableRef> out = new ArrayList<>();
        for (int from = 0; from < tables.size(); from += CHUNK) {
            List<TableRef> chunk = tables.subList(from, Math.min(tables.size(), from + CHUNK));
            StringBuilder sql = new StringBuilder();
            for (int i = 0; i < chunk.size(); i++) {
                sql.append(i == 0 ? "" : " UNION ALL ").append("SELECT ").append(i)
                        .append(" WHERE EXISTS (SELECT 1 FROM ").append(chunk.get(i).quoted()).append(")");
            }
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql.toString())) {
                while (rs.next()) {
                    out.add(chunk.get(rs.getInt(1)));
                }
            }
        }
        return out;
    }

    /** The TRUNCATE statements {@link #truncate} runs, for the step's {@code queries}. */
    public static List<String> truncateStatements(List<TableRef> tables) {
        List<String> out = new ArrayList<>();
        for (int from = 0; from < tables.size(); from += CHUNK) {
            out.add("TRUNCATE " + tables.subList(from, Math.min(tables.size(), from + CHUNK)).stream()
                    .map(TableRef::quoted).collect(Collectors.joining(", ")));
        }
        return out;
    }

    /**
     * Empties the tables, a chunk per statement; when a foreign key between them forbids that (a chunk may not
     * truncate a referenced table alone), all of them in one statement.
     */
    public static void truncate(Connection c, List<TableRef> tables) throws SQLException {
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(true);
        try (Statement st = c.createStatement()) {
            try {
                for (String sql : truncateStatements(tables)) {
                    st.execute(sql);
                }
            } catch (SQLException e) {
                if (!"0A000".equals(e.getSQLState())) {
                    throw e;
                }
                st.execute("TRUNCATE " + tables.stream().map(TableRef::quoted).collect(Collectors.joining(", ")));
            }
        } finally {
            c.setAutoCommit(auto);
        }
    }
}
