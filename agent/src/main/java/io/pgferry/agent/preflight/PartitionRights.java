package io.pgferry.agent.preflight;

import io.pgferry.agent.migration.TableRef;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * pgferry publishes partitions through their root, and from PostgreSQL 16 a subscription applies each change as the
 * owner of the table it names (the root), checking the rights of the partition a row is routed into as that role.
 * Where a partition has another owner and the root's owner lacks INSERT, UPDATE or DELETE on it, the stream stops at
 * the first such change ("permission denied for table ..."): the forward stream on a 16+ target, the reverse one on a
 * 16+ source. Owners and privileges move with the migration, so the source's catalogs say it for both sides.
 */
final class PartitionRights {
    private static final String QUERY = """
            SELECT quote_ident(ln.nspname) || '.' || quote_ident(lc.relname), quote_ident(pg_get_userbyid(lc.relowner)),
                   quote_ident(rn.nspname) || '.' || quote_ident(rc.relname), quote_ident(pg_get_userbyid(rc.relowner)),
                   array_to_string(array_remove(ARRAY[
                     CASE WHEN NOT has_table_privilege(rc.relowner, lc.oid, 'INSERT') THEN 'INSERT' END,
                     CASE WHEN NOT has_table_privilege(rc.relowner, lc.oid, 'UPDATE') THEN 'UPDATE' END,
                     CASE WHEN NOT has_table_privilege(rc.relowner, lc.oid, 'DELETE') THEN 'DELETE' END], NULL), ', ')
            FROM unnest(?::text[], ?::text[]) AS r(nsp, rel)
            JOIN pg_namespace rn ON rn.nspname = r.nsp
            JOIN pg_class rc ON rc.relnamespace = rn.oid AND rc.relname = r.rel AND rc.relkind = 'p'
            CROSS JOIN LATERAL pg_partition_tree(rc.oid) t
            JOIN pg_class lc ON lc.oid = t.relid AND lc.relkind = 'r'
            JOIN pg_namespace ln ON ln.oid = lc.relnamespace
            WHERE t.isleaf AND lc.relowner <> rc.relowner
            ORDER BY 1""";

    private PartitionRights() {
    }

    /** Each partition of {@code roots} whose root's owner lacks a right on it, described. */
    static List<String> read(Connection c, List<TableRef> roots) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(QUERY)) {
            ps.setArray(1, c.createArrayOf("text", roots.stream().map(TableRef::schema).toArray()));
            ps.setArray(2, c.createArrayOf("text", roots.stream().map(TableRef::name).toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    if (!rs.getString(5).isEmpty()) {
                        out.add(rs.getString(1) + " (owner " + rs.getString(2) + "): " + rs.getString(4)
                                + ", owner of " + rs.getString(3) + ", lacks " + rs.getString(5));
                    }
                }
            }
        }
        return out;
    }

    static String why(String side) {
        return "these partitions belong to another role than their root, whose owner lacks rights on them: from "
                + "PostgreSQL 16 a subscription applies a root's changes as the root's owner, and stops at the first "
                + "row routed into such a partition (\"permission denied\") - " + side;
    }

    static final String FIX = "on the source, give each partition its root's owner (ALTER TABLE <partition> OWNER TO "
            + "<root owner>), or grant the root's owner INSERT, UPDATE and DELETE on it; the privileges step carries "
            + "either to the target. Then rerun the preflight";
}
