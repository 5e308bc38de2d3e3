package io.pgferry.agent.syncstatus;

import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.Steps;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.problem.ApiException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Reads the subscription's progress from pg_subscription_rel, pg_stat_progress_copy and pg_stat_subscription; before
 * the subscription of pgferry's own copy exists, that copy's tables.
 */
public final class SyncStatusService {
    /** pgferry's own copy of a migration, as sync-status shows it (implemented by the copy step). */
    public interface OwnCopies {
        Optional<CopyTables> tables(MigrationId migration, String database);
    }

    public record CopyTables(SyncStatus.OwnCopy copy, List<SyncStatus.TableSync> tables) {
    }

    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    /** How often a held request reads the status again: a few catalog reads each time. */
    static final long HOLD_READ_MILLIS = 200;
    private static final String SUBSCRIPTION = """
            SELECT oid, subenabled FROM pg_subscription
            WHERE subname = ? AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())""";
    private static final String TABLES = """
            SELECT n.nspname, c.relname, r.srsubstate, p.bytes_processed, p.bytes_total, p.tuples_processed
            FROM pg_subscription_rel r
            JOIN pg_class c ON c.oid = r.srrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_stat_progress_copy p ON p.relid = r.srrelid
                 AND p.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
            WHERE r.srsubid = ?
            ORDER BY 1, 2""";
    /** The apply worker is the row without a table; from 16, parallel apply workers have a leader. */
    private static final String WORKER = """
            SELECT pid, received_lsn::text, latest_end_lsn::text, last_msg_receipt_time,
                   extract(epoch FROM now() - coalesce(latest_end_time, last_msg_send_time))::float8
            FROM pg_stat_subscription WHERE subid = ? AND relid IS NULL %s
            LIMIT 1""";

    private final PgConnector connector;
    private final OwnCopies copies;

    public SyncStatusService(PgConnector connector) {
        this(connector, (migration, database) -> Optional.empty());
    }

    public SyncStatusService(PgConnector connector, OwnCopies copies) {
        this.connector = connector;
        this.copies = copies;
    }

    public SyncStatus status(MigrationId migration, String database) {
        try (Connection c = Steps.open(connector, database, TIMEOUT, true)) {
            return read(c, migration, database);
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    /**
     * The status, read again every {@link #HOLD_READ_MILLIS} ms for at most {@code holdSeconds} while it stays at the
     * same milestone ({@link Milestone}): a waiting client learns that every table is ready as it happens, not at its
     * next poll (seconds later), and polls no more often than before. Each read takes a session and gives it back, so
     * concurrent waits (a fleet's) share the agent's idle sessions instead of holding one each.
     */
    public SyncStatus status(MigrationId migration, String database, int holdSeconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(holdSeconds);
        SyncStatus now = status(migration, database);
        Milestone first = Milestone.of(now);
        while (!now.allReady() && Milestone.of(now).equals(first)
                && System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(HOLD_READ_MILLIS) < deadline) {
            Thread.sleep(HOLD_READ_MILLIS);
            now = status(migration, database);
        }
        return now;
    }

    /** What a waiting client acts on; bytes and lag move all the time and are not part of it. */
    private record Milestone(int ready, int total, boolean exists, boolean enabled, String copyStatus,
                             String copyPhase, long errors) {
        static Milestone of(SyncStatus s) {
            SyncStatus.OwnCopy copy = s.ownCopy();
            return new Milestone(s.ready(), s.total(), s.subscription().exists(), s.subscription().enabled(),
                    copy == null ? null : copy.status(), copy == null ? null : copy.phase(),
                    s.errors() == null ? 0 : s.errors().apply() + s.errors().sync());
        }
    }

    private SyncStatus read(Connection c, MigrationId migration, String database) throws SQLException {
        String name = migration.objectName();
        long oid;
        boolean enabled;
        try (PreparedStatement st = c.prepareStatement(SUBSCRIPTION)) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) {
                    Optional<CopyTables> own = copies.tables(migration, database);
                    if (own.isPresent()) {
                        return copying(name, own.get());
                    }
                    throw ApiException.notFound("subscription_not_found", "database " + database + " has no "
                            + "subscription " + name + "; create it with PUT /v1/migrations/" + migration
                            + "/subscription");
                }
                oid = rs.getLong(1);
                enabled = rs.getBoolean(2);
            }
        }
        List<SyncStatus.TableSync> tables = tables(c, oid);
        int ready = (int) tables.stream().filter(t -> t.state().equals("r")).count();
        int total = tables.size();
        int percent = total == 0 ? 0 : ready * 100 / total;
        int major = connector.serverVersion(c).major();
        SyncStatus.ApplyWorker worker = worker(c, oid, name, enabled, major);
        return new SyncStatus(worker, tables, ready, total, percent, total > 0 && ready == total,
                copies.tables(migration, database).map(CopyTables::copy).orElse(null),
                major >= 15 ? SubscriptionStats.errors(c, oid) : null);
    }

    /** The own copy before its subscription: no table is ready (r) until the subscription streams. */
    private static SyncStatus copying(String name, CopyTables own) {
        SyncStatus.ApplyWorker worker = new SyncStatus.ApplyWorker(name, false, false, null, null, null, null, null);
        return new SyncStatus(worker, own.tables(), 0, own.tables().size(), 0, false, own.copy(), null);
    }

    private static List<SyncStatus.TableSync> tables(Connection c, long oid) throws SQLException {
        List<SyncStatus.TableSync> out = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement(TABLES)) {
            st.setLong(1, oid);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    String state = rs.getString(3);
                    out.add(new SyncStatus.TableSync(rs.getString(1), rs.getString(2), state,
                            SyncStatus.stateName(state), (Long) rs.getObject(4), (Long) rs.getObject(5),
                            (Long) rs.getObject(6)));
                }
            }
        }
        return out;
    }

    private static SyncStatus.ApplyWorker worker(Connection c, long oid, String name, boolean enabled, int major)
            throws SQLException {
        try (PreparedStatement st = c.prepareStatement(WORKER.formatted(major >= 16 ? "AND leader_pid IS NULL"
                : ""))) {
            st.setLong(1, oid);
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next() || rs.getObject(1) == null) {
                    return new SyncStatus.ApplyWorker(name, true, enabled, null, null, null, null, null);
                }
                OffsetDateTime receipt = rs.getObject(4, OffsetDateTime.class);
                Double lag = (Double) rs.getObject(5);
                return new SyncStatus.ApplyWorker(name, true, enabled, rs.getInt(1), rs.getString(2), rs.getString(3),
                        receipt == null ? null : receipt.toString(),
                        lag == null ? null : Math.max(0, Math.round(lag * 1000) / 1000.0));
            }
        }
    }
}
