package io.pgferry.agent.sequences;

import io.pgferry.agent.migration.ManifestScope;
import io.pgferry.agent.migration.ManifestScopes;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.Plan;
import io.pgferry.agent.migration.Sessions;
import io.pgferry.agent.migration.StepResult;
import io.pgferry.agent.migration.Steps;
import io.pgferry.agent.migration.TableRef;
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
    /** Sequences per statement when reading or setting thousands of them. */
    private static final int CHUNK = 500;
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
    private final ManifestScopes scopes;

    public SequencesService(PgConnector connector, ManifestScopes scopes) {
        this.connector = connector;
        this.scopes = scopes;
    }

    /** Every sequence of the migration's scope (from its manifest) with its position. */
    public Sequences read(MigrationId migration, String database) {
        ManifestScope scope = scopes.read(migration);
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
        List<SequenceValue> valued = new ArrayList<>(out.size());
        List<long[]> values = positions(c, out.stream().map(q -> Sql.qualified(q.schema(), q.name())).toList());
        for (int i = 0; i < out.size(); i++) {
            SequenceValue s = out.get(i);
            valued.add(new SequenceValue(s.schema(), s.name(), values.get(i)[0], values.get(i)[1] == 1, s.increment(),
                    s.ownedBy()));
        }
        return valued;
    }

    /**
     * {@code {last_value, is_called}} of each sequence (quoted names), a chunk of sequences per query: a sequence's
     * position is read from the sequence itself, one relation each, and thousands of tables have as many.
     */
    static List<long[]> positions(Connection c, List<String> sequences) throws SQLException {
        List<long[]> out = new ArrayList<>(sequences.size());
        for (int from = 0; from < sequences.size(); from += CHUNK) {
            List<String> chunk = sequences.subList(from, Math.min(sequences.size(), from + CHUNK));
            StringBuilder sql = new StringBuilder();
            for (int i = 0; i < chunk.size(); i++) {
                sql.append(i == 0 ? "" : " UNION ALL ").append("SELECT ").append(i)
                        .append(", last_value, is_called FROM ").append(chunk.get(i));
            }
            long[][] rows = new long[chunk.size()][];
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql.toString())) {
                while (rs.next()) {
                    rows[rs.getInt(1)] = new long[] {rs.getLong(2), rs.getBoolean(3) ? 1 : 0};
                }
            }
            out.addAll(List.of(rows));
        }
        return out;
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
            List<String> names = request.sequences().stream().map(q -> Sql.qualified(q.schema(), q.name())).toList();
            List<String> missing = new ArrayList<>();
            List<String> present = new ArrayList<>();
            List<Long> increments = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("""
                    SELECT q.name, s.seqincrement FROM unnest(?::text[]) WITH ORDINALITY AS q(name, ord)
                    LEFT JOIN pg_sequence s ON s.seqrelid = to_regclass(q.name) ORDER BY q.ord""")) {
                ps.setArray(1, c.createArrayOf("text", names.toArray()));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        if (rs.getObject(2) == null) {
                            missing.add(rs.getString(1));
                        } else {
                            present.add(rs.getString(1));
                            increments.add(rs.getLong(2));
                        }
                    }
                }
            }
            if (!missing.isEmpty()) {
                throw ApiException.unprocessable("sequences_missing", "these sequences do not exist in database "
                        + request.database() + ": " + String.join(", ", missing) + "; apply the schema first",
                        missing);
            }
            List<long[]> positions = positions(c, present);
            for (int i = 0; i < present.size(); i++) {
                here.put(present.get(i), new long[] {positions.get(i)[0], positions.get(i)[1], increments.get(i)});
            }
            Plan plan = new Plan();
            List<String> setvals = new ArrayList<>();
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
                setvals.add("setval(" + Sql.literal(q) + ", " + value + ", " + called + ")");
                result.add(new SequenceValue(s.schema(), s.name(), value, called, inc, null));
            }
            // One statement per chunk of sequences: one round trip each, not one per sequence.
            for (int from = 0; from < setvals.size(); from += CHUNK) {
                plan.add("SELECT " + String.join(", ", setvals.subList(from, Math.min(setvals.size(), from + CHUNK))));
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
