package io.pgferry.agent.rowcounts;

import io.pgferry.agent.migration.Steps;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.problem.ApiException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Snapshots exported and held open until a count imports them ({@code SET TRANSACTION SNAPSHOT}), is told to let go,
 * or their hold time ends. Several at once (a comparison holds two on the publisher), few in all: each is an open
 * transaction holding back vacuum's horizon.
 */
final class HeldSnapshots {
    private static final Duration OPEN_TIMEOUT = Duration.ofSeconds(30);
    private static final int MAX_HELD = 16;
    /**
     * One statement: the snapshot is taken as it starts, so the WAL position read in it follows every commit the
     * snapshot sees; pg_current_snapshot() names what it sees, for a later count to tell rows inserted since.
     */
    private static final String EXPORT = "SELECT pg_export_snapshot(), CASE WHEN pg_is_in_recovery() THEN NULL "
            + "ELSE pg_current_wal_insert_lsn()::text END, pg_current_snapshot()::text";

    /** @param visible pg_current_snapshot() of it: which transactions it sees */
    record Held(String snapshot, String lsn, String visible) {
    }

    private record Entry(Connection connection, String database, ScheduledFuture<?> expiry) {
    }

    private final PgConnector connector;
    private final Map<String, Entry> held = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "pgferry-row-counts-snapshots");
        t.setDaemon(true);
        return t;
    });

    HeldSnapshots(PgConnector connector) {
        this.connector = connector;
    }

    Held export(String database, int holdSeconds) {
        if (held.size() >= MAX_HELD) {
            throw ApiException.conflict("too_many_snapshots", "this agent already holds " + held.size()
                    + " row-count snapshots; wait for them to be counted or to expire", List.of());
        }
        Connection c = Steps.open(connector, database, OPEN_TIMEOUT, true);
        try {
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            Held h;
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(EXPORT)) {
                rs.next();
                h = new Held(rs.getString(1), rs.getString(2), rs.getString(3));
            }
            ScheduledFuture<?> expiry = timer.schedule(() -> release(h.snapshot()), holdSeconds, TimeUnit.SECONDS);
            held.put(h.snapshot(), new Entry(c, database, expiry));
            return h;
        } catch (SQLException e) {
            quietly(c);
            throw connector.translate(e);
        } catch (RuntimeException e) {
            quietly(c);
            throw e;
        }
    }

    /** Closes the snapshot's exporting transaction; false when it is not held (counted, expired, unknown). */
    boolean release(String snapshot) {
        Entry e = held.remove(snapshot);
        if (e == null) {
            return false;
        }
        e.expiry().cancel(false);
        quietly(e.connection());
        return true;
    }

    private static void quietly(Connection c) {
        try {
            c.rollback();
        } catch (SQLException | RuntimeException ignored) {
            // closing anyway
        }
        try {
            c.close();
        } catch (SQLException | RuntimeException ignored) {
            // nothing more to do
        }
    }
}
