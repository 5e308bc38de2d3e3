package io.pgferry.agent.verify;

import io.pgferry.agent.migration.ManifestScope;
import io.pgferry.agent.migration.ManifestScopes;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.Steps;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.sequences.SequenceValue;
import io.pgferry.agent.sequences.SequencesService;
import io.pgferry.agent.sql.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Row counts and checksums of the migration's tables, all read in one REPEATABLE READ snapshot, plus the
 * sequences' positions. The checksum is the sum of a 64-bit hash (the first 16 hex digits of md5) of every row's
 * text form: constant memory and no sort however large the table, the same for the same set of rows whatever
 * their physical order on either side, and a table with a primary key holds a set. Both sides format rows the same
 * way as long as the column types are equal, which schema transfer guarantees.
 */
public final class VerifyService {
    private static final Duration TIMEOUT = Duration.ofHours(2);
    /** Tables per checksum query. */
    private static final int CHUNK = 200;
    private static final String CHECKSUM = "SELECT count(*), coalesce(sum(('x' || substr(md5(t::text), 1, 16))"
            + "::bit(64)::bigint::numeric), 0)::text FROM %s t%s";
    /**
     * The one-column primary key of a table, its type and the planner's row estimate (unknown, as for a table never
     * analyzed or a partitioned root, counts as large); no row for composite or missing keys.
     */
    private static final String KEY = """
            SELECT a.attname, format_type(a.atttypid, a.atttypmod),
                   CASE WHEN c.reltuples < 0 THEN 9223372036854775807 ELSE c.reltuples::bigint END
            FROM pg_class c JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary AND i.indnatts = 1
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
            WHERE c.oid = ?::regclass""";

    /**
     * @param range the key range checked, when only part of the table was
     * @param checksum {@code missing} when the table does not exist here
     * @param unlogged true for an unlogged table (its rows do not replicate: moved empty, not to be compared)
     */
    public record TableSum(String schema, String name, long rows, String checksum, VerifyRequest.KeyRange range,
                           Boolean unlogged) {
    }

    public record Result(List<TableSum> tables, List<SequenceValue> sequences) {
    }

    private final PgConnector connector;
    private final ManifestScopes scopes;
    private final SnapshotService snapshots;

    public VerifyService(PgConnector connector, ManifestScopes scopes) {
        this(connector, scopes, new SnapshotService(connector));
    }

    public VerifyService(PgConnector connector, ManifestScopes scopes, SnapshotService snapshots) {
        this.connector = connector;
        this.scopes = scopes;
        this.snapshots = snapshots;
    }

    public SnapshotService snapshots() {
        return snapshots;
    }

    public Result verify(MigrationId migration, VerifyRequest request) {
        ManifestScope scope = scopes.read(migration);
        List<TableRef> tables = request.tables() != null ? request.tables() : scope.tables();
        Map<TableRef, VerifyRequest.KeyRange> ranges = request.ranges().stream()
                .collect(Collectors.toMap(VerifyRequest.KeyRange::table, Function.identity(), (a, b) -> b));
        try (Connection c = Steps.open(connector, request.database(), TIMEOUT, true)) {
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try {
                if (request.snapshot() != null) {
                    // First statement of the transaction; the held exporter can go once imported.
                    try (Statement st = c.createStatement()) {
                        st.execute("SET TRANSACTION SNAPSHOT " + Sql.literal(request.snapshot()));
                    }
                    snapshots.release(migration, request.database(), request.snapshot());
                }
                List<TableSum> sums;
                if (ranges.isEmpty() && request.sampleRows() <= 0) {
                    sums = sums(c, tables);
                } else {
                    sums = new ArrayList<>();
                    for (TableRef t : tables) {
                        sums.add(sum(c, t, ranges.get(t), request.sampleRows()));
                    }
                }
                List<SequenceValue> sequences = SequencesService.read(c, scope);
                return new Result(sums, sequences);
            } finally {
                c.rollback();
            }
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    /**
     * Whole tables, a chunk per query (one statement of UNION ALL branches, one scan each): thousands of small
     * tables would otherwise cost a round trip or two each.
     */
    private static List<TableSum> sums(Connection c, List<TableRef> tables) throws SQLException {
        boolean[] exists = new boolean[tables.size()];
        Boolean[] unlogged = new Boolean[tables.size()];
        try (PreparedStatement ps = c.prepareStatement("SELECT ord, cl.oid IS NOT NULL, cl.relpersistence = 'u' "
                + "FROM unnest(?::text[]) WITH ORDINALITY AS u(q, ord) "
                + "LEFT JOIN pg_class cl ON cl.oid = to_regclass(q)")) {
            ps.setArray(1, c.createArrayOf("text", tables.stream().map(TableRef::quoted).toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    exists[rs.getInt(1) - 1] = rs.getBoolean(2);
                    unlogged[rs.getInt(1) - 1] = rs.getBoolean(3) ? true : null;
                }
            }
        }
        TableSum[] out = new TableSum[tables.size()];
        List<Integer> present = new ArrayList<>();
        for (int i = 0; i < tables.size(); i++) {
            TableRef t = tables.get(i);
            if (exists[i]) {
                present.add(i);
            } else {
                out[i] = new TableSum(t.schema(), t.name(), 0, "missing", null, null);
            }
        }
        for (int from = 0; from < present.size(); from += CHUNK) {
            List<Integer> chunk = present.subList(from, Math.min(present.size(), from + CHUNK));
            StringBuilder sql = new StringBuilder();
            for (int k = 0; k < chunk.size(); k++) {
                sql.append(k == 0 ? "" : " UNION ALL ").append("SELECT ").append(chunk.get(k)).append(", ")
                        .append(CHECKSUM.substring("SELECT ".length()).formatted(tables.get(chunk.get(k)).quoted(),
                                ""));
            }
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql.toString())) {
                while (rs.next()) {
                    TableRef t = tables.get(rs.getInt(1));
                    out[rs.getInt(1)] = new TableSum(t.schema(), t.name(), rs.getLong(2), rs.getString(3), null,
                            unlogged[rs.getInt(1)]);
                }
            }
        }
        return List.of(out);
    }

    private static TableSum sum(Connection c, TableRef t, VerifyRequest.KeyRange given, long sampleRows)
            throws SQLException {
        Boolean unlogged;
        try (PreparedStatement ps = c.prepareStatement("SELECT relpersistence = 'u' FROM pg_class "
                + "WHERE oid = to_regclass(?)")) {
            ps.setString(1, t.quoted());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return new TableSum(t.schema(), t.name(), 0, "missing", null, null);
                }
                unlogged = rs.getBoolean(1) ? true : null;
            }
        }
        VerifyRequest.KeyRange range = given;
        String keyType = null;
        if (given != null || sampleRows > 0) {
            try (PreparedStatement ps = c.prepareStatement(KEY)) {
                ps.setString(1, t.quoted());
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        keyType = rs.getString(2);
                        if (range == null && rs.getLong(3) > sampleRows) {
                            range = sample(c, t, rs.getString(1), sampleRows, rs.getLong(3));
                        }
                    }
                }
            }
        }
        String where = "";
        if (range != null && keyType != null) {
            where = " WHERE " + Sql.ident(range.column()) + " BETWEEN CAST(? AS " + keyType + ") AND CAST(? AS "
                    + keyType + ")";
        } else {
            range = null;
        }
        try (PreparedStatement ps = c.prepareStatement(CHECKSUM.formatted(t.quoted(), where))) {
            if (range != null) {
                ps.setString(1, range.from());
                ps.setString(2, range.to());
            }
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new TableSum(t.schema(), t.name(), rs.getLong(1), rs.getString(2), range, unlogged);
            }
        }
    }

    /** A start key drawn from a random block (TABLESAMPLE SYSTEM), then the next {@code rows} keys. */
    private static VerifyRequest.KeyRange sample(Connection c, TableRef t, String column, long rows, long estimate)
            throws SQLException {
        String key = Sql.ident(column);
        double percent = Math.min(100.0, Math.max(0.001, 100.0 * rows / Math.max(1, estimate)));
        String from;
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT " + key + "::text FROM " + t.quoted() + " TABLESAMPLE SYSTEM ("
                     + percent + ") LIMIT 1")) {
            from = rs.next() ? rs.getString(1) : null;
        }
        if (from == null) {
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT min(" + key + ")::text FROM " + t.quoted())) {
                rs.next();
                from = rs.getString(1);
            }
        }
        if (from == null) {
            return null;
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT max(k)::text FROM (SELECT " + key + " AS k FROM "
                + t.quoted() + " WHERE " + key + " >= (SELECT " + key + " FROM " + t.quoted() + " WHERE " + key
                + "::text = ? LIMIT 1) ORDER BY " + key + " LIMIT " + rows + ") s")) {
            ps.setString(1, from);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new VerifyRequest.KeyRange(t.schema(), t.name(), column, from, rs.getString(1));
            }
        }
    }
}
