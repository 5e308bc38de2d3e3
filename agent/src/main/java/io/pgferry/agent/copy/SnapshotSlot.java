package io.pgferry.agent.copy;

import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.subscription.SourceConnection;
import io.pgferry.agent.subscription.SourceSession;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * The migration's slot, created on a replication connection with an exported snapshot: the snapshot is the
 * database exactly at the slot's consistent point, so rows copied inside it plus the changes the slot streams from
 * there are every row, once. The snapshot lives as long as this connection stays open and idle (any further command
 * on it ends the export), so the copy keeps it open, untouched, until the last table's transaction has imported it.
 */
final class SnapshotSlot implements AutoCloseable {
    private final Connection connection;
    private final String slot;
    private final String consistentLsn;
    private final String snapshot;

    private SnapshotSlot(Connection connection, String slot, String consistentLsn, String snapshot) {
        this.connection = connection;
        this.slot = slot;
        this.consistentLsn = consistentLsn;
        this.snapshot = snapshot;
    }

    /** The replication command: the option list of 15+, the old keyword on 14. */
    static String command(String slot, int sourceMajor) {
        return "CREATE_REPLICATION_SLOT " + slot + " LOGICAL pgoutput "
                + (sourceMajor >= 15 ? "(SNAPSHOT 'export')" : "EXPORT_SNAPSHOT");
    }

    /**
     * Waits, as PostgreSQL does, until the transactions running on the source have ended (the consistent point).
     *
     * @param slot a name of [a-z0-9_] only (a migration's object name), so it needs no quoting in the command
     * @throws ApiException 422 {@code slot_create_failed} with the server's reason (wal_level, max_replication_slots,
     *                      privileges), 502 {@code source_unreachable}
     */
    static SnapshotSlot create(SourceConnection source, String slot, int sourceMajor) {
        Connection c = SourceSession.replication(source, "pgferry_copy_snapshot");
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery(command(slot, sourceMajor))) {
            rs.next();
            return new SnapshotSlot(c, rs.getString("slot_name"), rs.getString("consistent_point"),
                    rs.getString("snapshot_name"));
        } catch (SQLException e) {
            close(c);
            String state = e.getSQLState();
            if (state != null && (state.startsWith("08") || state.startsWith("57"))) {
                throw SourceSession.unreachable(source, e);
            }
            throw ApiException.unprocessable("slot_create_failed", "the source refused to create replication slot "
                    + slot + ": " + SourceSession.mask(source, SourceSession.reason(e)) + "; the source needs "
                    + "wal_level = logical, a free replication slot and wal sender, and the replication role needs the "
                    + "REPLICATION attribute (the replication_role step gives it)", List.of(slot));
        }
    }

    String slot() {
        return slot;
    }

    String consistentLsn() {
        return consistentLsn;
    }

    String snapshot() {
        return snapshot;
    }

    /** Ends the export; the slot itself stays (it is persistent) and keeps the WAL from its consistent point. */
    @Override
    public void close() {
        close(connection);
    }

    private static void close(Connection c) {
        try {
            c.close();
        } catch (SQLException ignored) {
            // the session ends with the socket either way
        }
    }
}
