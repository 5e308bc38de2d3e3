package io.pgferry.agent.rowcounts;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgferry.agent.catchup.CatchUpService;
import io.pgferry.agent.json.Json;
import io.pgferry.agent.migration.ManifestScopes;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.Sessions;
import io.pgferry.agent.migration.Steps;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.migration.UnloggedTables;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.sql.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Exact row counts of the migration's tables in one snapshot, and what a client needs to compare them across the
 * two sides while the source takes writes (docs/design.md, "The copy proves itself"): snapshots held with the WAL
 * position read in them, on the publisher until the subscriber has applied up to it; the rows inserted since an
 * earlier snapshot (by the inserting transaction's visibility in it); the tables' insert and delete counters.
 * Counting never goes through row-level security: {@code row_security = off} makes a count that policies would
 * shorten an error, never a smaller number.
 */
public final class RowCountsService {
    private static final Duration TIMEOUT = Duration.ofHours(2);
    /**
     * Tables per counting statement. One statement counts a batch (a UNION ALL, one branch per table): a round trip
     * and a parse per table was most of the time with many small tables; a batch bounds the statement's text.
     */
    static final int BATCH = 100;
    /**
     * Whether a transaction id of a row ({@code %1$s}: xmin or xmax) is one snapshot {@code s.snap} does not see. The
     * row's ids are 32 bits, the snapshot's 64: one that precedes the snapshot's xmin (modulo 2^32; 0, frozen and
     * bootstrap ids always do) had ended before it was taken - seen; any other is placed in the snapshot's epoch and
     * asked of pg_visible_in_snapshot. First, without a text conversion, {@code age}: an id that does not precede
     * the snapshot's xmin is at most as old as it ({@code s.xage}), both measured from the same stable point of this
     * transaction; 0, frozen and bootstrap ids are infinitely old. Most rows stop there: the conversions cost ten
     * times a plain count.
     */
    private static final String UNSEEN = """
            (age(r.%1$s) <= s.xage
             AND r.%1$s::text::bigint >= 3
             AND (r.%1$s::text::bigint - s.xm8 %% 4294967296 + 4294967296) %% 4294967296 < 2147483648
             AND NOT pg_visible_in_snapshot((s.xm8 + (r.%1$s::text::bigint - s.xm8 %% 4294967296 + 4294967296)
                                             %% 4294967296)::text::xid8, s.snap))""";
    /**
     * Each table's kind (null when it does not exist) and the columns of its primary key, else of its replica identity
     * index (null for a table without), in the order given: one catalog read for all the tables.
     */
    private static final String RELATIONS = """
            SELECT c.relkind::text,
                   (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM pg_index i
                    JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) ON true
                    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                    WHERE i.indexrelid = (SELECT x.indexrelid FROM pg_index x WHERE x.indrelid = c.oid
                                          AND (x.indisprimary OR (x.indisreplident AND x.indisvalid))
                                          ORDER BY x.indisprimary DESC LIMIT 1))
            FROM unnest(?::text[]) WITH ORDINALITY AS r(q, ord)
            LEFT JOIN pg_class c ON c.oid = to_regclass(r.q)
            ORDER BY r.ord""";
    /**
     * The earlier snapshot of {@code since}, for all the statement's tables. Not materialized: each table's branch
     * then reads it as constants, where a materialized row is rescanned for every row of the table (twice the cost
     * of the whole count, measured on 3 million rows).
     */
    private static final String SINCE = "WITH s AS NOT MATERIALIZED (SELECT snap, xm8, "
            + "age((xm8 % 4294967296)::text::xid) AS xage FROM (SELECT ?::pg_snapshot AS snap, "
            + "pg_snapshot_xmin(?::pg_snapshot)::text::bigint AS xm8) s0) ";
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
    private final ManifestScopes scopes;
    private final HeldSnapshots snapshots;

    public RowCountsService(PgConnector connector, ManifestScopes scopes) {
        this.connector = connector;
        this.scopes = scopes;
        this.snapshots = new HeldSnapshots(connector);
    }

    private List<TableRef> tables(MigrationId migration, List<TableRef> given) {
        return given != null ? given : scopes.read(migration).tables();
    }

    public RowCounts.Counts counts(MigrationId migration, CountRequest request) {
        List<TableRef> tables = tables(migration, request.tables());
        try (Connection c = Steps.open(connector, request.database(), TIMEOUT, true)) {
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try (Statement st = c.createStatement()) {
                if (request.snapshot() != null) {
                    use(st, request.snapshot(), request.release());
                }
                st.execute("SET LOCAL row_security = off");
                // Unlogged tables write no WAL: nothing replicates their rows (they move empty, if at all).
                List<Relation> relations = relations(c, UnloggedTables.logged(c, tables));
                List<RowCounts.TableCount> out = new ArrayList<>();
                for (int i = 0; i < relations.size(); i += BATCH) {
                    out.addAll(count(c, relations.subList(i, Math.min(i + BATCH, relations.size())),
                            request.since(), request.keys(), request.changes()));
                }
                return new RowCounts.Counts(out);
            } finally {
                c.rollback();
            }
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    /** Imports a held snapshot: the first statement of the transaction. Its exporter may go once imported. */
    private void use(Statement st, String snapshot, boolean release) throws SQLException {
        try {
            st.execute("SET TRANSACTION SNAPSHOT " + Sql.literal(snapshot));
        } catch (SQLException e) {
            snapshots.release(snapshot);
            throw ApiException.notFound("snapshot_not_found", "snapshot " + snapshot + " is not held on this agent "
                    + "(released or expired): take another");
        }
        if (release) {
            snapshots.release(snapshot);
        }
    }

    /** A table as this server has it: kind null when it does not exist, key empty when it has none. */
    record Relation(TableRef table, String kind, List<String> key) {
        boolean exists() {
            return kind != null;
        }

        /** A partitioned table counts its partitions, an ordinary one itself. */
        String from() {
            return ("p".equals(kind) ? "" : "ONLY ") + table.quoted() + " r";
        }
    }

    static List<Relation> relations(Connection c, List<TableRef> tables) throws SQLException {
        List<Relation> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(RELATIONS)) {
            ps.setArray(1, c.createArrayOf("text", tables.stream().map(TableRef::quoted).toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                for (TableRef t : tables) {
                    rs.next();
                    java.sql.Array key = rs.getArray(2);
                    out.add(new Relation(t, rs.getString(1), key == null ? List.of()
                            : List.of((String[]) key.getArray())));
                }
            }
        }
        return out;
    }

    /**
     * Counts a batch of tables in one statement, in the transaction's snapshot; rows null for those that do not exist.
     */
    private static List<RowCounts.TableCount> count(Connection c, List<Relation> batch, String since, boolean keys,
                                                    String changes) throws SQLException {
        List<Relation> present = batch.stream().filter(Relation::exists).toList();
        Map<TableRef, RowCounts.TableCount> counted = new HashMap<>();
        if (!present.isEmpty()) {
            try {
                counted.putAll(countAll(c, present, since, keys, changes));
            } catch (SQLException e) {
                if ("42501".equals(e.getSQLState())) {
                    throw uncountable(c, present, e);
                }
                throw e;
            }
        }
        List<RowCounts.TableCount> out = new ArrayList<>();
        for (Relation r : batch) {
            out.add(r.exists() ? counted.get(r.table())
                    : new RowCounts.TableCount(r.table().schema(), r.table().name(), null, null, null, null));
        }
        return out;
    }

    /**
     * A batch's statement failed because the agent's role may not count one of its tables: the table, named in a 422,
     * found by trying each alone (no row read) in a fresh transaction, the batch's being aborted. The request fails
     * either way; this only says which table.
     */
    private static SQLException uncountable(Connection c, List<Relation> batch, SQLException e) throws SQLException {
        c.rollback();
        try (Statement st = c.createStatement()) {
            st.execute("SET LOCAL row_security = off");
            for (Relation r : batch) {
                try {
                    st.execute("SELECT 1 FROM " + r.from() + " LIMIT 0");
                } catch (SQLException probe) {
                    if ("42501".equals(probe.getSQLState())) {
                        throw notCountable(r.table());
                    }
                    throw probe;
                }
            }
        }
        return e;
    }

    private static Map<TableRef, RowCounts.TableCount> countAll(Connection c, List<Relation> tables, String since,
                                                                boolean keys, String changes) throws SQLException {
        StringBuilder sql = new StringBuilder(since == null ? "" : SINCE);
        for (int i = 0; i < tables.size(); i++) {
            if (i > 0) {
                sql.append("\nUNION ALL\n");
            }
            sql.append(branch(i, tables.get(i), since != null, keys, changes));
        }
        Map<TableRef, RowCounts.TableCount> out = new HashMap<>();
        try (PreparedStatement ps = c.prepareStatement(sql.toString())) {
            if (since != null) {
                ps.setString(1, since);
                ps.setString(2, since);
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    TableRef t = tables.get(rs.getInt(1)).table();
                    out.put(t, new RowCounts.TableCount(t.schema(), t.name(), rs.getLong(2), (Long) rs.getObject(3),
                            jsonList(rs.getString(4)), jsonList(rs.getString(5))));
                }
            }
        }
        return out;
    }

    /** One table's row of a counting statement: its position in the batch, then what {@link #count} returns. */
    private static String branch(int index, Relation t, boolean since, boolean keys, String changes) {
        if (!since) {
            return "SELECT " + index + ", count(*), NULL::bigint, NULL::text, NULL::text FROM " + t.from();
        }
        boolean wantInserted = !CountRequest.TOUCHED.equals(changes);
        boolean wantTouched = !CountRequest.INSERTED.equals(changes);
        List<String> key = keys ? t.key() : List.of();
        String inserted = UNSEEN.formatted("xmin");
        String touched = UNSEEN.formatted("xmax");  // 0 (never deleted or locked) is one UNSEEN leaves out
        String keyJson = "jsonb_build_object(" + key.stream().map(k -> Sql.literal(k) + ", r." + Sql.ident(k))
                .collect(java.util.stream.Collectors.joining(", ")) + ")";
        return "SELECT " + index + ", count(*), "
                + (wantInserted ? "count(*) FILTER (WHERE " + inserted + ")" : "NULL::bigint") + ", "
                + (key.isEmpty() || !wantInserted ? "NULL::text" : keyList(keyJson, inserted)) + ", "
                + (key.isEmpty() || !wantTouched ? "NULL::text" : keyList(keyJson, touched))
                + " FROM " + t.from() + ", s";
    }

    private static ApiException notCountable(TableRef t) {
        return ApiException.unprocessable("rows_not_countable", "the agent's role cannot count every row of "
                + t.quoted() + ": it lacks SELECT on it, or row-level security applies to it (with "
                + "row_security = off that is an error rather than a short count). Run the agent as a role "
                + "that bypasses row security there: a superuser, a BYPASSRLS role, or the table's owner "
                + "(unless FORCE ROW LEVEL SECURITY)", List.of(t.quoted()));
    }

    /** The keys of the rows matching {@code where}, as a JSON array; null when more than the lookup accepts. */
    private static String keyList(String keyJson, String where) {
        return "CASE WHEN count(*) FILTER (WHERE " + where + ") <= " + LookupRequest.MAX_KEYS + " THEN coalesce(jsonb_agg("
                + keyJson + ") FILTER (WHERE " + where + "), '[]')::text END";
    }

    private static List<JsonNode> jsonList(String json) throws SQLException {
        if (json == null) {
            return null;
        }
        try {
            List<JsonNode> out = new ArrayList<>();
            Json.MAPPER.readTree(json).forEach(out::add);
            return out;
        } catch (java.io.IOException e) {
            throw new SQLException("unreadable key list", e);
        }
    }

    /** Which of the given keys each table holds, in a held snapshot (index lookups). */
    public RowCounts.Lookups lookup(MigrationId migration, LookupRequest request) {
        try (Connection c = Steps.open(connector, request.database(), TIMEOUT, true)) {
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try (Statement st = c.createStatement()) {
                use(st, request.snapshot(), request.release());
                st.execute("SET LOCAL row_security = off");
                List<Relation> relations = relations(c, request.tables().stream()
                        .map(t -> new TableRef(t.schema(), t.name())).toList());
                List<RowCounts.TableLookup> out = new ArrayList<>();
                for (int i = 0; i < relations.size(); i++) {
                    out.add(lookup(c, relations.get(i), request.tables().get(i).keys()));
                }
                return new RowCounts.Lookups(out);
            } finally {
                c.rollback();
            }
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    private static RowCounts.TableLookup lookup(Connection c, Relation r, List<JsonNode> keys) throws SQLException {
        TableRef t = r.table();
        List<String> key = r.key();
        if (keys.isEmpty() || key.isEmpty()) {
            return new RowCounts.TableLookup(t.schema(), t.name(), List.of());
        }
        String on = key.stream().map(k -> "r." + Sql.ident(k) + " = k." + Sql.ident(k))
                .collect(java.util.stream.Collectors.joining(" AND "));
        String keyJson = "jsonb_build_object(" + key.stream().map(k -> Sql.literal(k) + ", r." + Sql.ident(k))
                .collect(java.util.stream.Collectors.joining(", ")) + ")";
        // The table's own row type gives each key its column's type; only the key columns are filled.
        String only = "p".equals(r.kind()) ? "" : "ONLY ";
        String sql = "SELECT coalesce(jsonb_agg(" + keyJson + "), '[]')::text FROM jsonb_populate_recordset(NULL::"
                + t.quoted() + ", ?::jsonb) k JOIN " + only + t.quoted() + " r ON " + on;
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, Json.MAPPER.writeValueAsString(keys));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new RowCounts.TableLookup(t.schema(), t.name(), jsonList(rs.getString(1)));
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
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
     * Reads the counters, then exports and holds a snapshot with the WAL position read inside it; with {@code
     * wait_for_subscriber}, waits until the migration's subscriber has applied everything up to that position: from
     * then on a snapshot taken on the subscriber sees at least every change the held one does.
     */
    public RowCounts.Snapshot snapshot(MigrationId migration, SnapshotRequest request) throws InterruptedException {
        List<TableRef> tables = tables(migration, request.tables());
        List<RowCounts.TableChanges> before;
        try (Connection c = Steps.open(connector, request.database(), Duration.ofSeconds(60), true)) {
            before = changes(c, tables);
        } catch (SQLException e) {
            throw connector.translate(e);
        }
        HeldSnapshots.Held held = snapshots.export(request.database(), request.holdSeconds());
        if (!request.waitForSubscriber()) {
            return new RowCounts.Snapshot(held.snapshot(), held.lsn(), held.visible(), null, 0, before);
        }
        try {
            return waitForSubscriber(migration, request, held, before);
        } catch (RuntimeException | InterruptedException e) {
            snapshots.release(held.snapshot());
            throw e;
        }
    }

    private RowCounts.Snapshot waitForSubscriber(MigrationId migration, SnapshotRequest request,
                                                 HeldSnapshots.Held held, List<RowCounts.TableChanges> before)
            throws InterruptedException {
        String slot = migration.objectName();
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
                        return new RowCounts.Snapshot(held.snapshot(), held.lsn(), held.visible(), applied, waited,
                                before);
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
            throw connector.translate(e);
        }
    }

    /** Lets go of a held snapshot; false when it was not held. */
    public boolean release(String snapshot) {
        return snapshots.release(snapshot);
    }
}
