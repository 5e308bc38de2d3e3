package io.pgferry.agent.publication;

import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.sql.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Once the migration's slot exists its stream has begun, and the publication's tables are the stream's: a table added
 * then would stop the subscription at its first change (the target has no such table, nor its rows), and a table
 * dropped would stop receiving changes while the target keeps its old copy, which a cutover would then hand to
 * clients. So the tables of a running stream are never changed; the preflight and the publication step refuse.
 */
public final class RunningStream {
    public static final String CODE = "scope_changed";

    private RunningStream() {
    }

    /** Whether the migration's slot ({@code pgferry_<m>}) exists in the current database. */
    public static boolean started(Connection c, String name) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("SELECT 1 FROM pg_replication_slots WHERE slot_name = ? "
                + "AND database = current_database()")) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** The objects of the refusal: each table with what the scope would do to it. */
    public static List<String> objects(Collection<TableRef> add, Collection<TableRef> drop, boolean viaRoot) {
        List<String> objects = new ArrayList<>();
        add.forEach(t -> objects.add("add " + t.quoted()));
        drop.forEach(t -> objects.add("drop " + t.quoted()));
        if (viaRoot) {
            objects.add("publish_via_partition_root");
        }
        return objects;
    }

    public static String problem(String name, Collection<TableRef> add, Collection<TableRef> drop, boolean viaRoot) {
        return "the stream of replication slot " + Sql.ident(name) + " has begun, and the scope now selects other "
                + "tables than its publication publishes (" + add.size() + " to add, " + drop.size() + " to drop"
                + (viaRoot ? ", publish_via_partition_root changed" : "") + "): pgferry does not change the tables "
                + "of a running stream - the subscription would stop at the first change of a table the target "
                + "lacks, and a table dropped from it would stop receiving changes while the target keeps its old "
                + "copy; nothing was changed";
    }

    public static String fix(String migration) {
        return "rerun with the scope the migration was started with (exclude a table created on the source since "
                + "then: this migration does not move it); to move the new scope, abandon this migration "
                + "(pgferry.migrate.cleanup -e pgferry_cleanup_abandon=" + migration + ") and migrate again with it";
    }
}
