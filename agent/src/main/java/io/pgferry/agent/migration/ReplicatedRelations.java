package io.pgferry.agent.migration;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * The relations behind each table in scope: the table itself, or a partitioned root with all its partitions.
 * Replica identity and persistence are per relation and ALTER TABLE .. REPLICA IDENTITY does not recurse, so a
 * root's partitions are what decide whether its UPDATEs and DELETEs can be published. The preflight and the
 * publication step both read them here, so the check and the refusal can never disagree.
 */
public final class ReplicatedRelations {
    /**
     * @param kind {@code r} ordinary (receives rows), {@code p} partitioned (holds none), {@code f} foreign
     * @param replicaIdentity {@code d} primary key, {@code f} full, {@code i} index, {@code n} nothing
     * @param hasPrimaryKey an immediate (not DEFERRABLE) primary key
     * @param deferrableKey its primary key is DEFERRABLE (and so no identity)
     */
    public record Relation(TableRef root, TableRef table, char kind, char replicaIdentity, boolean unlogged,
                    boolean hasPrimaryKey, boolean hasIdentityIndex, boolean deferrableKey) {
        /** Whether UPDATE and DELETE keep working on the source once the relation is published. */
        public boolean hasReplicaIdentity() {
            return switch (replicaIdentity) {
                case 'f' -> true;
                case 'd' -> hasPrimaryKey;
                // The index may have been dropped since; the setting then silently means "nothing".
                case 'i' -> hasIdentityIndex;
                default -> false;
            };
        }

        /** For messages: a partition is named with its root, since the request named the root. */
        public String describe() {
            return root.equals(table) ? table.quoted() : table.quoted() + " (partition of " + root.quoted() + ")";
        }
    }

    /**
     * A DEFERRABLE primary key counts for nothing: PostgreSQL takes only an immediate one as the default replica
     * identity, so a published table with one rejects UPDATE and DELETE like a table without a key.
     * pg_partition_tree has no rows for a table that is not partitioned: then the table is its own tree. */
    private static final String TREE = """
            SELECT r.nsp, r.rel, n.nspname, c.relname, c.relkind, c.relreplident, c.relpersistence = 'u',
                   EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary
                           AND i.indimmediate),
                   EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident
                           AND i.indisvalid),
                   EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary
                           AND NOT i.indimmediate)
            FROM unnest(?::text[], ?::text[]) AS r(nsp, rel)
            JOIN pg_namespace rn ON rn.nspname = r.nsp
            JOIN pg_class rc ON rc.relnamespace = rn.oid AND rc.relname = r.rel
            LEFT JOIN LATERAL pg_partition_tree(rc.oid) p ON true
            JOIN pg_class c ON c.oid = coalesce(p.relid, rc.oid) JOIN pg_namespace n ON n.oid = c.relnamespace
            ORDER BY 1, 2, coalesce(p.level, 0), 3, 4""";

    private ReplicatedRelations() {
    }

    public static List<Relation> read(Connection c, List<TableRef> roots) throws SQLException {
        List<Relation> out = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement(TREE)) {
            st.setArray(1, c.createArrayOf("text", roots.stream().map(TableRef::schema).toArray()));
            st.setArray(2, c.createArrayOf("text", roots.stream().map(TableRef::name).toArray()));
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.add(new Relation(new TableRef(rs.getString(1), rs.getString(2)),
                            new TableRef(rs.getString(3), rs.getString(4)), rs.getString(5).charAt(0),
                            rs.getString(6).charAt(0), rs.getBoolean(7), rs.getBoolean(8), rs.getBoolean(9),
                            rs.getBoolean(10)));
                }
            }
        }
        return out;
    }
}
