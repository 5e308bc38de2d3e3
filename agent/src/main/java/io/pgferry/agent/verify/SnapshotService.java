package io.pgferry.agent.verify;

import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.Steps;
import io.pgferry.agent.postgres.PgConnector;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A snapshot exported and held open, so that {@code verify} can later read the database exactly as it was at this
 * point ({@code SET TRANSACTION SNAPSHOT}). The cutover takes one on each side while clients are paused, after the
 * fence and catch-up, and verifies after clients resume: the comparison is that of the paused point however long
 * it takes and whatever clients write meanwhile. One snapshot per migration and database; exporting again replaces
 * it; it is closed by {@code release}, by {@code verify} once imported, or after its hold time. It holds back
 * vacuum's horizon on this database while open, like any long read.
 */
public final class SnapshotService {
    private static final Duration OPEN_TIMEOUT = Duration.ofSeconds(30);

    public record Held(String database, String snapshot, String expiresAt) {
    }

    private record Entry(Connection connection, Held held, ScheduledFuture<?> expiry) {
    }

    private final PgConnector connector;
    private final Map<String, Entry> held = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "pgferry-snapshot-expiry");
        t.setDaemon(true);
        return t;
    });

    public SnapshotService(PgConnector connector) {
        this.connector = connector;
    }

    public Held export(MigrationId migration, String database, long holdSeconds) {
        String key = key(migration, database);
        Connection c = Steps.openSettingReadOnly(connector, database, OPEN_TIMEOUT, true);
        try {
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            String id;
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_export_snapshot()")) {
                rs.next();
                id = rs.getString(1);
            }
            Held h = new Held(database, id, Instant.now().plusSeconds(holdSeconds).toString());
            ScheduledFuture<?> expiry = timer.schedule(() -> close(key, id), holdSeconds, TimeUnit.SECONDS);
            Entry previous = held.put(key, new Entry(c, h, expiry));
            if (previous != null) {
                previous.expiry().cancel(false);
                quietly(previous.connection());
            }
            return h;
        } catch (SQLException e) {
            quietly(c);
            throw connector.translate(e);
        } catch (RuntimeException e) {
            quietly(c);
            throw e;
        }
    }

    /** Closes the held snapshot of this database; false when there was none (or another one is held). */
    public boolean release(MigrationId migration, String database, String snapshot) {
        return close(key(migration, database), snapshot);
    }

    private boolean close(String key, String snapshot) {
        Entry e = held.get(key);
        if (e == null || (snapshot != null && !e.held().snapshot().equals(snapshot)) || !held.remove(key, e)) {
            return false;
        }
        e.expiry().cancel(false);
        quietly(e.connection());
        return true;
    }

    private static String key(MigrationId migration, String database) {
        return migration.value() + "\u0000" + database;
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
