package io.pgferry.agent.fence;

import io.pgferry.agent.catchup.CatchUpService;
import io.pgferry.agent.migration.ManifestScope;
import io.pgferry.agent.migration.ManifestScopes;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.Plan;
import io.pgferry.agent.migration.Sessions;
import io.pgferry.agent.migration.StepResult;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.sequences.SequenceValue;
import io.pgferry.agent.sequences.SequencesService;
import io.pgferry.agent.sql.Sql;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Stops every write to one database, from every role, superusers and owners included:
 * {@code ALTER DATABASE .. SET default_transaction_read_only = on} makes each new session read-only, and the
 * client sessions that began before it are ended, since the setting never reaches a running session. Revoking
 * privileges would not stop owners and superusers (often the application's own role), and would have to be undone
 * grant by grant. Logical replication apply workers and walsenders are left alone: an apply worker writes whatever
 * the database's default says (checked on PostgreSQL 14 and 16), so a reverse subscription keeps applying into a
 * fenced database. The catalog setting is the fence's record: a rerun, or another agent, sees it there.
 */
public final class FenceService {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final String SETTING = """
            SELECT EXISTS (SELECT 1 FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
                           WHERE d.datname = ? AND s.setrole = 0
                             AND 'default_transaction_read_only=on' = ANY (s.setconfig))""";
    /** Client sessions of the database other than the agent's own; walsenders and workers are not clients. */
    private static final String SESSIONS = """
            SELECT pid, coalesce(usename, ''), coalesce(application_name, ''), xact_start IS NOT NULL
            FROM pg_stat_activity
            WHERE datname = ? AND pid <> pg_backend_pid() AND backend_type = 'client backend'
              AND coalesce(application_name, '') <> 'pgferry-agent'
              AND (?::timestamptz IS NULL OR backend_start %s ?::timestamptz)""";

    private final PgConnector connector;
    private final Path stateDir;
    private final ManifestScopes scopes;

    public FenceService(PgConnector connector, Path stateDir, ManifestScopes scopes) {
        this.connector = connector;
        this.stateDir = stateDir;
        this.scopes = scopes;
    }

    public synchronized StepResult<FenceState.Response> fence(MigrationId migration, FenceRequest request) {
        String db = request.database();
        FenceFiles files = new FenceFiles(stateDir, migration);
        // Before anything changes: a migration without a manifest has no scope whose sequences could be read.
        ManifestScope scope = request.sequences() ? scopes.read(migration) : null;
        try (Connection c = Sessions.writable(connector, db, TIMEOUT)) {
            boolean fenced = fenced(c, db);
            Plan plan = new Plan();
            if (!fenced) {
                plan.add("ALTER DATABASE " + Sql.ident(db) + " SET default_transaction_read_only = on");
            }
            if (request.check()) {
                if (request.terminate()) {
                    plan.add("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
                            + Sql.literal(db) + " AND backend_type = 'client backend' -- sessions begun before "
                            + "the fence");
                }
                return plan.result(true, new FenceState.Response(new FenceState(db, fenced,
                        files.fencedAt(db).orElse(null), List.of(), 0, null)));
            }
            plan.runEach(c);
            if (!plan.isEmpty()) {
                // Sessions that set their read-only default stay: the pause's next steps reuse them.
                connector.forgetReadOnlyDefault();
            }
            // Sessions begun after the setting are read-only already; those begun before must go. On a rerun the
            // recorded time (or, when unknown, now) bounds them.
            String fencedAt = fenced ? files.fencedAt(db).orElse(now(c)) : now(c);
            if (!fenced || files.fencedAt(db).isEmpty()) {
                files.record(db, fencedAt);
            }
            Ended ended = request.terminate() ? terminate(c, db, "<", fencedAt) : Ended.NONE;
            if (!ended.sessions().isEmpty()) {
                plan.add("SELECT pg_terminate_backend(pid) -- " + ended.sessions().size() + " session(s) begun "
                        + "before the fence");
            }
            String lsn = lsn(c);
            List<SequenceValue> sequences = scope == null ? null : SequencesService.read(c, scope);
            return plan.result(false, new FenceState.Response(new FenceState(db, true, fencedAt, ended.sessions(),
                    ended.inTransaction(), lsn, sequences)));
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    /**
     * Lifts the fence. Sessions opened while it stood keep their read-only default, so they are ended too (a
     * connection pool reconnects them read-write).
     */
    public synchronized StepResult<FenceState.Response> unfence(MigrationId migration, String db, boolean check) {
        FenceFiles files = new FenceFiles(stateDir, migration);
        try (Connection c = Sessions.writable(connector, db, TIMEOUT)) {
            boolean fenced = fenced(c, db);
            Plan plan = new Plan();
            if (fenced) {
                plan.add("ALTER DATABASE " + Sql.ident(db) + " RESET default_transaction_read_only");
            }
            if (check) {
                return plan.result(true, new FenceState.Response(new FenceState(db, fenced,
                        files.fencedAt(db).orElse(null), List.of(), 0, null)));
            }
            plan.runEach(c);
            if (!plan.isEmpty()) {
                connector.forgetReadOnlyDefault();
            }
            Optional<String> since = files.fencedAt(db);
            Ended ended = fenced && since.isPresent() ? terminate(c, db, ">=", since.get()) : Ended.NONE;
            if (!ended.sessions().isEmpty()) {
                plan.add("SELECT pg_terminate_backend(pid) -- " + ended.sessions().size() + " read-only session(s) "
                        + "begun during the fence");
            }
            files.remove(db);
            return plan.result(false, new FenceState.Response(new FenceState(db, false, null, ended.sessions(),
                    ended.inTransaction(), null)));
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    public FenceState status(MigrationId migration, String db) {
        try (Connection c = Sessions.writable(connector, db, TIMEOUT)) {
            return new FenceState(db, fenced(c, db), new FenceFiles(stateDir, migration).fencedAt(db).orElse(null),
                    List.of(), 0, lsn(c));
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    /** Whether the database carries the fence setting; for the other steps (cleanup, orphans). */
    public static boolean fenced(Connection c, String db) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(SETTING)) {
            ps.setString(1, db);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    /** Sessions a call ended, and how many of them were inside a transaction (rolled back by the end). */
    private record Ended(List<String> sessions, int inTransaction) {
        static final Ended NONE = new Ended(List.of(), 0);
    }

    private static Ended terminate(Connection c, String db, String op, String bound) throws SQLException {
        List<String> done = new ArrayList<>();
        int inTransaction = 0;
        try (PreparedStatement ps = c.prepareStatement(SESSIONS.formatted(op))) {
            ps.setString(1, db);
            ps.setString(2, bound);
            ps.setString(3, bound);
            List<Object[]> sessions = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    sessions.add(new Object[] {rs.getInt(1), rs.getString(2), rs.getString(3), rs.getBoolean(4)});
                }
            }
            for (Object[] s : sessions) {
                try (PreparedStatement t = c.prepareStatement("SELECT pg_terminate_backend(?)")) {
                    t.setInt(1, (Integer) s[0]);
                    try (ResultSet rs = t.executeQuery()) {
                        if (rs.next() && rs.getBoolean(1)) {
                            done.add("pid " + s[0] + " user " + s[1] + " application " + s[2]);
                            inTransaction += (Boolean) s[3] ? 1 : 0;
                        }
                    }
                }
            }
        }
        return new Ended(done, inTransaction);
    }

    private static String now(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT clock_timestamp()")) {
            rs.next();
            return rs.getObject(1, OffsetDateTime.class).toInstant().toString();
        }
    }

    static String lsn(Connection c) throws SQLException {
        return CatchUpService.flushedLsn(c);
    }
}
