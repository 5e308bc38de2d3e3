package io.pgferry.agent.postdata;

import io.pgferry.agent.migration.TableRef;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * The planner's statistics of the migration's tables on the target, made before clients arrive. A copy leaves a table
 * without any (COPY and CREATE INDEX make none); autovacuum analyzes it a minute or more later, and never a partitioned
 * root or a table whose autovacuum is off. A cutover in between would send the application's queries to a planner
 * that guesses. pgcopydb analyzes each table after its copy for the same reason.
 *
 * <p>The tables are the migration's (the manifest's: a partitioned table's root, whose ANALYZE samples its partitions
 * and analyzes each of them too). A table needs it when it has rows or may have (reltuples is not 0), the view of the
 * statistics it may read shows none for it, and it was never analyzed; a rerun finds them made and does nothing.
 * Tables the agent's role may not analyze (not their owner's member, no MAINTAIN on PostgreSQL 17+) are left to
 * autovacuum, never attempted: PostgreSQL would skip them with a warning on every run.
 */
final class Statistics {
    /** Tables per ANALYZE statement: one round trip each, short enough to report progress between them. */
    static final int BATCH = 100;

    private static final String WITHOUT = """
            SELECT n.nspname, c.relname
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN unnest(?::text[], ?::text[]) AS t(schema, name) ON t.schema = n.nspname AND t.name = c.relname
            LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
            WHERE c.relkind IN ('r', 'p') AND c.reltuples <> 0
              AND s.last_analyze IS NULL AND s.last_autoanalyze IS NULL
              AND NOT EXISTS (SELECT FROM pg_stats p WHERE p.schemaname = n.nspname AND p.tablename = c.relname)
              AND (pg_has_role(c.relowner, 'USAGE')%s)
            ORDER BY 1, 2
            """;

    private Statistics() {
    }

    /** The tables of {@code tables} the target has no statistics for and the agent's role may analyze. */
    static List<TableRef> missing(Connection c, List<TableRef> tables, int serverMajor) throws SQLException {
        if (tables.isEmpty()) {
            return List.of();
        }
        String maintain = serverMajor >= 17 ? " OR has_table_privilege(c.oid, 'MAINTAIN')" : "";
        List<TableRef> missing = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(WITHOUT.formatted(maintain))) {
            Array schemas = c.createArrayOf("text", tables.stream().map(TableRef::schema).toArray());
            Array names = c.createArrayOf("text", tables.stream().map(TableRef::name).toArray());
            ps.setArray(1, schemas);
            ps.setArray(2, names);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    missing.add(new TableRef(rs.getString(1), rs.getString(2)));
                }
            }
        }
        return missing;
    }

    static List<String> statements(List<TableRef> tables) {
        List<String> sql = new ArrayList<>();
        for (int from = 0; from < tables.size(); from += BATCH) {
            sql.add("ANALYZE " + String.join(", ", tables.subList(from, Math.min(tables.size(), from + BATCH))
                    .stream().map(TableRef::quoted).toList()));
        }
        return sql;
    }
}
