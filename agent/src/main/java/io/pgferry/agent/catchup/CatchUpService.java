package io.pgferry.agent.catchup;

import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.Sessions;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.problem.ApiException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;

/**
 * Waits on the publishing side until the subscriber has confirmed (flushed) every change up to a WAL position:
 * the slot's confirmed_flush_lsn, which the subscriber advances only once its own commit of those changes is on
 * disk. Taken after the fence, that position covers every transaction the source ever committed.
 */
public final class CatchUpService {
    private static final String SLOT = """
            SELECT confirmed_flush_lsn::text, confirmed_flush_lsn >= ?::pg_lsn, active,
                   pg_wal_lsn_diff(?::pg_lsn, confirmed_flush_lsn)::bigint
            FROM pg_replication_slots WHERE slot_name = ? AND database = current_database()""";

    /** @param lsn the position waited for; {@code behindBytes} what was left when the wait began */
    public record CatchUp(String slot, String lsn, String confirmedFlushLsn, long behindBytes, long waitedMs) {
        public record Response(CatchUp catchUp) {
        }
    }

    /** About half a second of 2 ms pauses, the time a caught-up subscriber takes to confirm many times over. */
    static final int FAST_POLLS = 200;

    private final PgConnector connector;

    public CatchUpService(PgConnector connector) {
        this.connector = connector;
    }

    public CatchUp.Response catchUp(MigrationId migration, CatchUpRequest request) throws InterruptedException {
        String slot = request.stream().objectName(migration);
        long started = System.nanoTime();
        long deadline = started + Duration.ofSeconds(request.timeoutSeconds()).toNanos();
        Duration socket = Duration.ofSeconds(request.timeoutSeconds() + 30L);
        try (Connection c = Sessions.writable(connector, request.database(), socket)) {
            String lsn = request.lsn() != null ? request.lsn() : flushedLsn(c);
            Long behind = null;
            int polls = 0;
            while (true) {
                try (PreparedStatement ps = c.prepareStatement(SLOT)) {
                    ps.setString(1, lsn);
                    ps.setString(2, lsn);
                    ps.setString(3, slot);
                    try (ResultSet rs = ps.executeQuery()) {
                        if (!rs.next()) {
                            throw ApiException.notFound("slot_not_found", "database " + request.database()
                                    + " has no replication slot " + slot + "; nothing replicates from here");
                        }
                        long left = rs.getLong(4);
                        behind = behind == null ? Math.max(0, left) : behind;
                        if (rs.getBoolean(2)) {
                            long waited = Duration.ofNanos(System.nanoTime() - started).toMillis();
                            return new CatchUp.Response(new CatchUp(slot, lsn, rs.getString(1), behind, waited));
                        }
                        if (System.nanoTime() > deadline) {
                            throw new ApiException(504, "catch_up_timeout", "Timed out", "the subscriber of slot "
                                    + slot + " has confirmed up to " + rs.getString(1) + ", " + left + " bytes short "
                                    + "of " + lsn + " after " + request.timeoutSeconds() + " s (slot "
                                    + (rs.getBoolean(3) ? "active" : "INACTIVE: no subscriber is connected") + ")",
                                    null, List.of(slot), null);
                        }
                    }
                }
                // Inside the cutover's pause every millisecond is the clients': for its first half second the slot
                // is read every 2 ms (a read of one row of pg_replication_slots, well under a millisecond on the
                // fenced source), so the wait ends within 2 ms of the subscriber's confirmation; then every 50 ms.
                Thread.sleep(polls++ < FAST_POLLS ? 2 : 50);
            }
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    /**
     * A WAL position at or after every transaction committed so far. pg_current_wal_lsn() alone is not: a commit
     * made with synchronous_commit = off may not be written yet (PostgreSQL writes it within a few
     * wal_writer_delay). A transaction of our own that writes WAL (a transactional logical message, which the
     * subscription does not ask for) and commits with synchronous_commit = on flushes all WAL before it, those
     * commits included. Needs a writable session (see {@link io.pgferry.agent.migration.Sessions}).
     */
    public static String flushedLsn(Connection c) throws SQLException {
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        try (Statement st = c.createStatement()) {
            st.execute("SET LOCAL synchronous_commit = on");
            st.execute("SELECT pg_logical_emit_message(true, 'pgferry', 'flush')");
            c.commit();
        } catch (SQLException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(auto);
        }
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_current_wal_lsn()::text")) {
            rs.next();
            return rs.getString(1);
        }
    }
}
