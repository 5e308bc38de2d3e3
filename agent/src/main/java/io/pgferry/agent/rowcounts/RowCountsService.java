package io.pgferry.agent.rowcounts;

import io.pgferry.agent.catchup.CatchUpService;
import io.pgferry.agent.http.ApiException;
import io.pgferry.agent.migration.ManifestScope;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.Sessions;
import io.pgferry.agent.migration.Steps;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.sql.Sql;
import io.pgferry.agent.verify.SnapshotService;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Exact row counts of the migration's tables in one snapshot, and what a client needs to compare them across the
 * two sides while the source takes writes (docs/design.md, "The copy proves itself"): on the publisher a snapshot
 * held together with its WAL position, the subscriber's applied position caught up with it, and the tables'
 * insert and delete counters. Counting never goes through row-level security: {@code row_security = off} makes a
 * count that policies would shorten an error, never a smaller number.
 */
public final class RowCountsService {
    private static final Duration TIMEOUT = Duration.ofHours(2);
    private static final String KIND = "SELECT relkind FROM pg_class WHERE oid = to_regclass(?)";
    /** pg_partition_tree has no rows for a table that is not partitioned: then the table stands for itself. */
    private static final String CHANGES = """
            SELECT r.nsp, r.rel, coalesce(sum(s.n_tup_ins), 0)::bigint, coalesce(sum(s.n_tup_del), 0)::bigint
            FROM unnest(?::text[], ?::text[]) WITH ORDINALITY AS r(nsp, rel, ord)
            JOIN pg_namespace rn ON rn.nspname = r.nsp
            JOIN pg_class rc ON rc.relnamespace = rn.oid AND rc.relname = r.rel
            LEFT JOIN LATERAL pg_partition_tree(rc.oid) p ON true
            LEFT JOIN pg_stat_all_tables s ON s.relid = coalesce(p.relid, rc.oid)
            GROUP BY r.ord, r.nsp, r.rel ORDER BY r.ord""";
    /**
     * The subscriber's applied position: pg_stat_replication's replay_lsn is what the apply worker reports as
     * committed (it needs pg_read_all_stats to be seen); the slot's confirmed_flush_lsn, what it reports as flushed,
     * trails it by the subscriber's WAL writer delay and is always readable.
     */
    private static final String APPLIED = """
            SELECT greatest(r.replay_lsn, s.confirmed_flush_lsn)::text, greatest(r.replay_lsn, s.confirmed_flush_lsn)
                   >= ?::pg_lsn
            FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
            WHERE s.slot_name = ? AND s.database = current_database()""";
    /** After this, an idle publisher is made to write and flush, so its walsender sends a position past the mark. */
    private static final long NUDGE_AFTER_MS = 1000;

    private final PgConnector connector;
    private final Path stateDir;
    private final SnapshotService snapshots;

    public RowCountsService(PgConnector connector, Path stateDir) {
        this.connector = connector;
        this.stateDir = stateDir;
        this.snapshots = new SnapshotService(connector);
    }

    private List<TableRef> tables(MigrationId migration, List<TableRef> given) {
        return given != null ? given : ManifestScope.read(stateDir, migration).tables();
    }

    public RowCounts.Counts counts(MigrationId migration, CountRequest request) {
        List<TableRef> tables = tables(migration, request.tables());
        try (Connection c = Steps.open(connector, request.database(), TIMEOUT, true)) {
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try (Statement st = c.createStatement()) {
                if (request.snapshot() != null) {
                    // First statement of the transaction; the held exporter can go once imported.
                    st.execute("SET TRANSACTION SNAPSHOT " + Sql.literal(request.snapshot()));
                    snapshots.release(migration, request.database(), request.snapshot());
                }
                st.execute("SET LOCAL row_security = off");
                List<RowCounts.TableCount> out = new ArrayList<>();
                for (TableRef t : tables) {
                    out.add(new RowCounts.TableCount(t.schema(), t.name(), count(c, t)));
                }
                return new RowCounts.Counts(out);
            } finally {
                c.rollback();
            }
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    /** Null when the table does not exist; a partitioned table counts its partitions, an ordinary one only itself. */
    private static Long count(Connection c, TableRef t) throws SQLException {
        String kind;
        try (PreparedStatement ps = c.prepareStatement(KIND)) {
            ps.setString(1, t.quoted());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                kind = rs.getString(1);
            }
        }
        String sql = "SELECT count(*) FROM " + ("p".equals(kind) ? "" : "ONLY ") + t.quoted();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            if ("42501".equals(e.getSQLState())) {
                throw ApiException.unprocessable("rows_not_countable", "the agent's role cannot count every row of "
                        + t.quoted() + ": it lacks SELECT on it, or row-level security applies to it (with "
                        + "row_security = off that is an error rather than a short count). Run the agent as a role "
                        + "that bypasses row security there: a superuser, a BYPASSRLS role, or the table's owner "
                        + "(unless FORCE ROW LEVEL SECURITY)", List.of(t.quoted()));
            }
            throw e;
        }
    }

    public RowCounts.Changes changes(MigrationId migration, CountRequest request) {
        List<TableRef> tables = tables(migration, request.tables());
        try (Connection c = Steps.open(connector, request.database(), TIMEOUT, true)) {
            return new RowCounts.Changes(changes(c, tables));
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    /** Each read in a transaction of its own: the statistics a transaction sees are cached for its duration. */
    private static List<RowCounts.TableChanges> changes(Connection c, List<TableRef> tables) throws SQLException {
        List<RowCounts.TableChanges> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(CHANGES)) {
            ps.setArray(1, c.createArrayOf("text", tables.stream().map(TableRef::schema).toArray()));
            ps.setArray(2, c.createArrayOf("text", tables.stream().map(TableRef::name).toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new RowCounts.TableChanges(rs.getString(1), rs.getString(2), rs.getLong(3),
                            rs.getLong(4)));
                }
            }
        }
        return out;
    }

    /**
     * Reads the counters, then exports and holds a snapshot with the WAL position read inside it, then waits until
     * the migration's subscriber has applied everything up to that position: from then on a snapshot taken on the
     * subscriber sees at least every change the held one does.
     */
    public RowCounts.Mark mark(MigrationId migration, MarkRequest request) throws InterruptedException {
        List<TableRef> tables = tables(migration, request.tables());
        String slot = migration.objectName();
        List<RowCounts.TableChanges> before;
        try (Connection c = Steps.open(connector, request.database(), Duration.ofSeconds(60), true)) {
            before = changes(c, tables);
        } catch (SQLException e) {
            throw connector.translate(e);
        }
        SnapshotService.Held held = snapshots.export(migration, request.database(), request.holdSeconds());
        long started = System.nanoTime();
        boolean nudged = false;
        try (Connection c = Steps.open(connector, request.database(), Duration.ofSeconds(request.timeoutSeconds()
                + 30L), true); PreparedStatement ps = c.prepareStatement(APPLIED)) {
            while (true) {
                ps.setString(1, held.lsn());
                ps.setString(2, slot);
                String applied;
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        throw ApiException.notFound("slot_not_found", "database " + request.database() + " has no "
                                + "replication slot " + slot + ": nothing replicates from here");
                    }
                    applied = rs.getString(1);
                    if (rs.getBoolean(2)) {
                        long waited = Duration.ofNanos(System.nanoTime() - started).toMillis();
                        return new RowCounts.Mark(held.snapshot(), held.lsn(), applied, waited, before);
                    }
                }
                long waitedMs = Duration.ofNanos(System.nanoTime() - started).toMillis();
                if (waitedMs > request.timeoutSeconds() * 1000L) {
                    throw new ApiException(504, "catch_up_timeout", "Timed out", "the subscriber of slot " + slot
                            + " had applied up to " + applied + " after " + request.timeoutSeconds() + " s, short of "
                            + held.lsn() + ": it lags or its apply worker is stopped (see the target's log)", null,
                            List.of(slot), null);
                }
                if (!nudged && waitedMs > NUDGE_AFTER_MS) {
                    try (Connection w = Sessions.writable(connector, request.database(), Duration.ofSeconds(30))) {
                        CatchUpService.flushedLsn(w);
                    }
                    nudged = true;
                }
                Thread.sleep(20);
            }
        } catch (SQLException e) {
            snapshots.release(migration, request.database(), held.snapshot());
            throw connector.translate(e);
        } catch (RuntimeException | InterruptedException e) {
            snapshots.release(migration, request.database(), held.snapshot());
            throw e;
        }
    }
}
