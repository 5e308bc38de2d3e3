package io.pgferry.agent.sequences;

import io.pgferry.agent.http.ApiException;
import io.pgferry.agent.migration.ManifestScope;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.Plan;
import io.pgferry.agent.migration.Sessions;
import io.pgferry.agent.migration.StepResult;
import io.pgferry.agent.migration.Steps;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.sql.Sql;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Logical replication carries no sequence values: at cutover every sequence of the scope (serial and identity
 * columns' own and standalone ones) is read on the source and set on the target, never moved backwards.
 */
public final class SequencesService {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    /** Sequences of the schemas, with the column owning each (serial: 'a', identity: 'i'). */
    private static final String SEQUENCES = """
            SELECT n.nspname, c.relname, s.seqincrement, tn.nspname, t.relname, a.attname
            FROM pg_sequence s
            JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
                 AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
            LEFT JOIN pg_class t ON t.oid = d.refobjid LEFT JOIN pg_namespace tn ON tn.oid = t.relnamespace
            LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
            WHERE n.nspname = ANY (?)
            ORDER BY 1, 2""";

    public record Sequences(List<SequenceValue> sequences) {
    }

    public record Applied(List<SequenceValue> sequences, List<String> unchanged) {
    }

    private final PgConnector connector;
    private final Path stateDir;

    public SequencesService(PgConnector connector, Path stateDir) {
        this.connector = connector;
        this.stateDir = stateDir;
    }

    /** Every sequence of the migration's scope (from its manifest) with its position. */
    public Sequences read(MigrationId migration, String database) {
        ManifestScope scope = ManifestScope.read(stateDir, migration);
        try (Connection c = Steps.open(connector, database, TIMEOUT, true)) {
            return new Sequences(read(c, scope));
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    public static List<SequenceValue> read(Connection c, ManifestScope scope) throws SQLException {
        Set<TableRef> excluded = new HashSet<>(scope.excludedTables());
        List<SequenceValue> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(SEQUENCES)) {
            ps.setArray(1, c.createArrayOf("text", scope.schemas().toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String owner = rs.getString(5) == null ? null
                            : Sql.qualified(rs.getString(4), rs.getString(5)) + "." + Sql.ident(rs.getString(6));
                    if (owner != null && excluded.contains(new TableRef(rs.getString(4), rs.getString(5)))) {
                        continue;
                    }
                    out.add(new SequenceValue(rs.getString(1), rs.getString(2), null, null, rs.getLong(3), owner));
                }
            }
        }
        List<SequenceValue> valued = new ArrayList<>();
        try (Statement st = c.createStatement()) {
            for (SequenceValue s : out) {
                try (ResultSet rs = st.executeQuery("SELECT last_value, is_called FROM "
                        + Sql.qualified(s.schema(), s.name()))) {
                    rs.next();
                    valued.add(new SequenceValue(s.schema(), s.name(), rs.getLong(1), rs.getBoolean(2), s.increment(),
                            s.ownedBy()));
                }
            }
        }
        return valued;
    }

    /**
     * Sets each sequence to the given position plus the gap, unless it is already there or beyond (in the
     * direction of its increment): rerunning changes nothing, and a target that handed out values is never
     * moved back. A sequence missing here is a 422 before anything changes.
     */
    public StepResult<Applied> apply(MigrationId migration, SequencesRequest request) {
        // Writable even when fenced: at rollback the old source is fenced until clients come back.
        try (Connection c = Sessions.writable(connector, request.database(), TIMEOUT)) {
            Map<String, long[]> here = new LinkedHashMap<>();
            List<String> missing = new ArrayList<>();
            try (Statement st = c.createStatement()) {
                for (SequenceValue s : request.sequences()) {
                    String q = Sql.qualified(s.schema(), s.name());
                    try (PreparedStatement ps = c.prepareStatement("SELECT to_regclass(?) IS NOT NULL AND "
                            + "EXISTS (SELECT 1 FROM pg_sequence WHERE seqrelid = to_regclass(?))")) {
                        ps.setString(1, q);
                        ps.setString(2, q);
                        try (ResultSet rs = ps.executeQuery()) {
                            rs.next();
                            if (!rs.getBoolean(1)) {
                                missing.add(q);
                                continue;
                            }
                        }
                    }
                    try (ResultSet rs = st.executeQuery("SELECT s.last_value, s.is_called, p.seqincrement FROM " + q
                            + " s, pg_sequence p WHERE p.seqrelid = " + Sql.literal(q) + "::regclass")) {
                        rs.next();
                        here.put(q, new long[] {rs.getLong(1), rs.getBoolean(2) ? 1 : 0, rs.getLong(3)});
                    }
                }
            }
            if (!missing.isEmpty()) {
                throw ApiException.unprocessable("sequences_missing", "these sequences do not exist in database "
                        + request.database() + ": " + String.join(", ", missing) + "; apply the schema first",
                        missing);
            }
            Plan plan = new Plan();
            List<SequenceValue> result = new ArrayList<>();
            List<String> unchanged = new ArrayList<>();
            for (SequenceValue s : request.sequences()) {
                String q = Sql.qualified(s.schema(), s.name());
                long[] t = here.get(q);
                long inc = t[2];
                long sign = inc >= 0 ? 1 : -1;
                long wanted = s.next(inc) + sign * request.gap();
                long current = t[1] == 1 ? t[0] + inc : t[0];
                if (sign > 0 ? current >= wanted : current <= wanted) {
                    unchanged.add(q);
                    result.add(new SequenceValue(s.schema(), s.name(), t[0], t[1] == 1, inc, null));
                    continue;
                }
                boolean called = request.gap() == 0 && s.isCalled();
                long value = request.gap() == 0 ? s.lastValue() : wanted;
                plan.add("SELECT setval(" + Sql.literal(q) + ", " + value + ", " + called + ")");
                result.add(new SequenceValue(s.schema(), s.name(), value, called, inc, null));
            }
            if (!request.check()) {
                plan.runInTransaction(c);
            }
            return plan.result(request.check(), new Applied(result, unchanged));
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }
}
